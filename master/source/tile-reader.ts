/**
 * Builds the wire payload of one planned tile: for every band, the nearest source column/row of
 * each output column/row, and the source windows holding those pixels, either as the file's own
 * compressed blocks (tiled files a worker can decode) or as decoded samples. Bands that read the
 * same file through the same window share one SourceWindow.
 */
import { endianness } from 'node:os';
import { crc32 } from '../../shared/checksum.js';
import { SourceReadError } from '../../shared/errors.js';
import type { BandSampling, EncodedBlock, EncodedBlocks, SourceWindow } from '../../shared/proto/tile-service.js';
import type { SampleArray } from '../../shared/types.js';
import type { BandSource } from './band-source.js';
import type { BandSet } from './band-set.js';
import type { PlannedTile } from './tile-plan.js';

export interface TilePayload {
  sources: SourceWindow[];
  bands: BandSampling[];
}

/** TIFF compressions whose blocks a worker decodes with geotiff's getDecoder (no extra tables). */
export const WORKER_COMPRESSIONS: ReadonlySet<number> = new Set([1, 5, 8, 32946, 32773, 50000]);

/**
 * Whether a band's blocks can travel as stored: tiled, a compression the worker decodes,
 * little-endian, every sample the same byte-aligned 8/16/32/64-bit type (float16 excluded), and a
 * predictor geotiff applies.
 */
export function canShipEncoded(source: BandSource): boolean {
  const bits = source.bitsPerSample[0] ?? 0;
  const format = source.sampleFormats[0] ?? 1;
  return (
    source.layout.tiled &&
    WORKER_COMPRESSIONS.has(source.compression) &&
    source.littleEndian &&
    source.bitsPerSample.length === source.samplesPerPixel &&
    source.bitsPerSample.every((b) => b === bits) &&
    source.sampleFormats.every((f) => f === format) &&
    [8, 16, 32, 64].includes(bits) &&
    !(format === 3 && bits === 16) &&
    (source.predictor === 1 || (source.predictor === 2 && bits <= 32) || source.predictor === 3)
  );
}

interface Lookup {
  /** Relative to the window origin, −1 outside the band. */
  readonly indices: number[];
  readonly min: number;
  /** Exclusive; equal to min when no index is valid. */
  readonly end: number;
}

interface Group {
  readonly source: BandSource;
  readonly x0: number;
  readonly y0: number;
  readonly width: number;
  readonly height: number;
  readonly samples: Set<number>;
}

/** Reads what the workers need for `tile` of `bandSet`'s output grid. */
export async function readTile(
  bandSet: Pick<BandSet, 'grid' | 'bands'>,
  tile: PlannedTile,
  signal?: AbortSignal,
): Promise<TilePayload> {
  signal?.throwIfAborted();
  const { grid } = bandSet;
  const groups = new Map<string, Group>();
  const groupIndex = new Map<string, number>();
  const bands: BandSampling[] = [];
  for (const { name, source } of bandSet.bands) {
    const t = source.transform;
    // Output pixel centre → source pixel index (nearest neighbour), −1 outside the band.
    const columns = lookup(tile.width, source.width, (i) =>
      Math.floor((grid.originX + (tile.left + i + 0.5) * grid.pixelWidth - t.originX) / t.pixelWidth),
    );
    const rows = lookup(tile.height, source.height, (j) =>
      Math.floor((t.originY - (grid.originY - (tile.top + j + 0.5) * grid.pixelHeight)) / t.pixelHeight),
    );
    const empty = columns.end === columns.min || rows.end === rows.min;
    const x0 = empty ? 0 : columns.min;
    const y0 = empty ? 0 : rows.min;
    const width = empty ? 0 : columns.end - columns.min;
    const height = empty ? 0 : rows.end - rows.min;
    const key = `${source.file.key}\u0000${x0},${y0},${width},${height}\u0000${source.sampleType}`;
    let group = groups.get(key);
    if (!group) {
      group = { source, x0, y0, width, height, samples: new Set() };
      groups.set(key, group);
      groupIndex.set(key, groupIndex.size);
    }
    group.samples.add(source.sample);
    bands.push({
      name,
      source: groupIndex.get(key)!,
      sample: source.sample,
      hasNodata: source.nodata !== null,
      nodata: source.nodata ?? 0,
      columns: columns.indices.map((c) => (c < 0 || empty ? -1 : c - x0)),
      rows: rows.indices.map((r) => (r < 0 || empty ? -1 : r - y0)),
    });
  }
  const sources = await Promise.all(
    [...groups.values()].map(async (group) => {
      try {
        return await readWindow(group, signal);
      } catch (error) {
        if (signal?.aborted || error instanceof SourceReadError) throw error;
        const window = `window (${group.x0}, ${group.y0}) ${group.width}×${group.height}`;
        throw new SourceReadError(`${group.source.label}: cannot read ${window}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    }),
  );
  return { sources, bands };
}

function lookup(count: number, size: number, indexOf: (i: number) => number): Lookup {
  const indices = new Array<number>(count);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < count; i++) {
    const index = indexOf(i);
    if (index >= 0 && index < size) {
      indices[i] = index;
      if (index < min) min = index;
      if (index > max) max = index;
    } else {
      indices[i] = -1;
    }
  }
  return min > max ? { indices, min: 0, end: 0 } : { indices, min, end: max + 1 };
}

async function readWindow(group: Group, signal: AbortSignal | undefined): Promise<SourceWindow> {
  const samples = [...group.samples].sort((a, b) => a - b);
  const base = { x0: group.x0, y0: group.y0, width: group.width, height: group.height, sampleType: group.source.sampleType };
  if (group.width === 0 || group.height === 0) {
    const data = Buffer.alloc(0);
    return { ...base, decoded: { samples, data, checksum: crc32(data) } };
  }
  if (canShipEncoded(group.source)) {
    const encoded = await readBlocks(group, samples, signal);
    if (encoded) return { ...base, encoded };
  }

  const { image } = group.source.file;
  const arrays = await image.readRasters({
    window: [group.x0, group.y0, group.x0 + group.width, group.y0 + group.height],
    samples,
    interleave: false,
    signal,
  });
  const data = Buffer.concat(arrays.map((array) => littleEndianBytes(array)));
  return { ...base, decoded: { samples, data, checksum: crc32(data) } };
}

/**
 * The stored blocks covering the window, or null when a sparse block would need a fill value other
 * than 0 (workers fill sparse blocks with 0; geotiff and GDAL use the nodata value), in which case
 * the caller ships decoded samples instead.
 */
async function readBlocks(group: Group, samples: readonly number[], signal: AbortSignal | undefined): Promise<EncodedBlocks | null> {
  const { source } = group;
  const { image } = source.file;
  const directory = image.getFileDirectory();
  const { blockWidth, blockHeight } = source.layout;
  const across = Math.ceil(source.width / blockWidth);
  const down = Math.ceil(source.height / blockHeight);
  const planes = source.planarConfiguration === 2 ? samples : [0];
  const wanted: Array<{ column: number; row: number; sample: number; index: number }> = [];
  for (const sample of planes) {
    for (let row = Math.floor(group.y0 / blockHeight); row <= Math.floor((group.y0 + group.height - 1) / blockHeight); row++) {
      for (let column = Math.floor(group.x0 / blockWidth); column <= Math.floor((group.x0 + group.width - 1) / blockWidth); column++) {
        wanted.push({ column, row, sample, index: sample * across * down + row * across + column });
      }
    }
  }
  // Load each offset/byte-count array whole, once per file: geotiff would otherwise fetch every
  // index on its own (one range request each for remote files). geotiff allocates the full array
  // either way, so this costs no extra memory.
  await Promise.all([directory.loadValue('TileOffsets'), directory.loadValue('TileByteCounts')]);
  const located = await Promise.all(
    wanted.map(async (block) => ({
      ...block,
      offset: Number(await directory.loadValueIndexed('TileOffsets', block.index)),
      byteCount: Number(await directory.loadValueIndexed('TileByteCounts', block.index)),
    })),
  );
  const broken = located.find((b) => !Number.isFinite(b.offset) || !Number.isFinite(b.byteCount));
  if (broken) throw new SourceReadError(`${source.label}: the file has no offset or byte count for block ${broken.index}`);
  const stored = located.filter((b) => b.byteCount > 0);
  if (stored.length < located.length && (source.nodata ?? 0) !== 0) return null;
  const ranges = stored.map((b) => ({ offset: b.offset, length: b.byteCount }));
  const fetchRanges = (wanted: readonly { offset: number; length: number }[]) => image.source.fetch([...wanted], signal);
  const cache = source.file.blocks;
  const fetched: readonly (Buffer | ArrayBufferLike)[] =
    stored.length === 0 ? [] : cache ? await cache.read(ranges, fetchRanges) : await fetchRanges(ranges);
  const dataByIndex = new Map<number, Buffer>();
  stored.forEach((b, i) => {
    const chunk = fetched[i]!;
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as ArrayBuffer);
    if (bytes.length < b.byteCount) {
      throw new SourceReadError(`${source.label}: block (${b.column}, ${b.row}) is truncated: read ${bytes.length} of ${b.byteCount} bytes`);
    }
    dataByIndex.set(b.index, bytes.subarray(0, b.byteCount));
  });
  const blocks: EncodedBlock[] = located.map((b) => {
    // byteCount 0: a sparse block; the worker fills it.
    const data = dataByIndex.get(b.index) ?? Buffer.alloc(0);
    return { column: b.column, row: b.row, sample: b.sample, data, checksum: crc32(data) };
  });
  return {
    compression: source.compression,
    predictor: source.predictor,
    blockWidth,
    blockHeight,
    samplesPerPixel: source.samplesPerPixel,
    planarConfiguration: source.planarConfiguration,
    bitsPerSample: [...source.bitsPerSample],
    littleEndian: source.littleEndian,
    blocks,
  };
}

/** The array's values as little-endian bytes (a copy). */
function littleEndianBytes(array: SampleArray | ArrayLike<number>): Buffer {
  if (!ArrayBuffer.isView(array)) throw new Error('readRasters returned a non-typed array');
  const typed = array as SampleArray;
  const bytes = Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength);
  const copy = Buffer.from(bytes);
  if (endianness() === 'BE') {
    if (typed.BYTES_PER_ELEMENT === 2) copy.swap16();
    else if (typed.BYTES_PER_ELEMENT === 4) copy.swap32();
    else if (typed.BYTES_PER_ELEMENT === 8) copy.swap64();
  }
  return copy;
}
