/**
 * What the workers need for one strip of a band set's output grid. `describeStrip` works out, for
 * every band, the nearest source column/row of each output column/row and the source window
 * holding those pixels, and how each window travels: as the file's own compressed blocks (which a
 * worker decodes), or decoded by the master when a worker could not decode them. Bands that read
 * the same file through the same window share one window, so a block is sent once per strip. Each
 * encoded window also says where a worker may read the blocks itself (the local file, or the URL).
 * Nothing is read until `chunks()` streams the windows' parts, a few MiB at a time.
 */
import type { BandSampling, SourceChunk, SourceWindow } from '../../shared/proto/tile-service.js';
import { int32Bytes } from '../../shared/proto/int32-bytes.js';
import { SAMPLE_BYTES } from '../../shared/types.js';
import type { BandSet } from './band-set.js';
import { canShipEncoded, locateBlocks, type PixelWindow } from './stored-blocks.js';
import type { MessageMemory } from '../../shared/proto/source-chunk-wire.js';
import { streamWindows, withReadContext, type Group, type PlannedWindow } from './strip-stream.js';
import type { PlannedStrip } from './strip-plan.js';
import type { DirectRead } from '../../shared/proto/generated/tessera/v1/DirectRead.js';

/** Largest piece of a part in one SourceChunk message. */
export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;

export interface StripSources {
  /** The windows as the task describes them (no data). */
  readonly sources: SourceWindow[];
  readonly bands: BandSampling[];
  /** Bytes `chunks()` sends in all. */
  readonly bytes: number;
  /** Every part of every window, in order (sparse blocks and empty parts send nothing). */
  chunks(signal?: AbortSignal): AsyncGenerator<SourceChunk>;
}

interface Lookup {
  /** Source index of each output column or row, −1 outside the band (made relative by relativeTo). */
  readonly indices: Int32Array;
  readonly min: number;
  /** Exclusive; equal to min when no index is valid. */
  readonly end: number;
}

/** Describes what `strip` of `bandSet`'s output grid needs from each band (reads only block indexes). */
export async function describeStrip(
  bandSet: Pick<BandSet, 'grid' | 'bands'>,
  strip: Pick<PlannedStrip, 'top' | 'rows'>,
  options: { readonly chunkBytes?: number; readonly memory?: MessageMemory | undefined } = {},
): Promise<StripSources> {
  const { grid } = bandSet;
  const groups = new Map<string, Group>();
  const bands: BandSampling[] = [];
  for (const { name, source } of bandSet.bands) {
    const t = source.transform;
    // Output pixel centre → source pixel index (nearest neighbour), −1 outside the band.
    const columns = lookup(grid.width, source.width, (i) => Math.floor((grid.originX + (i + 0.5) * grid.pixelWidth - t.originX) / t.pixelWidth));
    const rows = lookup(strip.rows, source.height, (j) =>
      Math.floor((t.originY - (grid.originY - (strip.top + j + 0.5) * grid.pixelHeight)) / t.pixelHeight),
    );
    const empty = columns.end === columns.min || rows.end === rows.min;
    const window: PixelWindow = empty
      ? { x0: 0, y0: 0, width: 0, height: 0 }
      : { x0: columns.min, y0: rows.min, width: columns.end - columns.min, height: rows.end - rows.min };
    const key = `${source.file.key}\u0000${window.x0},${window.y0},${window.width},${window.height}\u0000${source.sampleType}`;
    let group = groups.get(key);
    if (!group) {
      group = { source, ...window, samples: new Set() };
      groups.set(key, group);
    }
    group.samples.add(source.sample);
    bands.push({
      name,
      source: [...groups.keys()].indexOf(key),
      sample: source.sample,
      hasNodata: source.nodata !== null,
      nodata: source.nodata ?? 0,
      columnMap: int32Bytes(relativeTo(columns.indices, window.x0, empty)),
      rowMap: int32Bytes(relativeTo(rows.indices, window.y0, empty)),
    });
  }
  const windows = await Promise.all([...groups.values()].map((group) => planWindow(group)));
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  return {
    sources: windows.map(describeWindow),
    bands,
    bytes: windows.reduce((sum, w) => sum + w.bytes, 0),
    chunks: (signal) => streamWindows(windows, chunkBytes, signal, options.memory),
  };
}

/** A window as it travels, and where a worker may read its blocks itself. */
type DescribedWindow = PlannedWindow & { readonly direct: DirectRead | undefined };

async function planWindow(group: Group): Promise<DescribedWindow> {
  const samples = [...group.samples].sort((a, b) => a - b);
  const pixels = group.width * group.height;
  const decodedBytes = pixels * SAMPLE_BYTES[group.source.sampleType] * samples.length;
  const decoded = { group, samples, blocks: null, bytes: decodedBytes, direct: undefined };
  if (pixels === 0 || !canShipEncoded(group.source)) return decoded;
  const blocks = await withReadContext(group, () => locateBlocks(group.source, group, samples));
  if (!blocks) return decoded;
  return { group, samples, blocks, bytes: blocks.reduce((sum, b) => sum + b.byteCount, 0), direct: await directReadOf(group) };
}

/** A local file's path, size and mtime; a remote one's URL, with the size and ETag its server gave (once it has). */
async function directReadOf(group: Group): Promise<DirectRead | undefined> {
  const { file } = group.source;
  const local = file.local;
  if (local) {
    const { path, size, mtimeMs } = await withReadContext(group, () => local.identity());
    return { path, size, mtimeMs };
  }
  const remote = file.meter?.identity();
  return remote ? { url: file.uri, size: remote.size, etag: remote.etag } : undefined;
}

function describeWindow({ group, samples, blocks, direct }: DescribedWindow): SourceWindow {
  const { source } = group;
  const base = { x0: group.x0, y0: group.y0, width: group.width, height: group.height, sampleType: source.sampleType };
  if (!blocks) return { ...base, decoded: { samples: [...samples] } };
  return {
    ...base,
    encoded: {
      compression: source.compression,
      predictor: source.predictor,
      blockWidth: source.layout.blockWidth,
      blockHeight: source.layout.blockHeight,
      samplesPerPixel: source.samplesPerPixel,
      planarConfiguration: source.planarConfiguration,
      bitsPerSample: [...source.bitsPerSample],
      littleEndian: source.littleEndian,
      blocks: blocks.map(({ column, row, sample, byteCount, offset }) => ({ column, row, sample, byteCount, offset })),
      imageWidth: source.width,
      imageHeight: source.height,
      sampleFormat: source.sampleFormats[0] ?? 1,
      tiled: source.layout.tiled,
      ...(direct ? { direct } : {}),
    },
  };
}

function lookup(count: number, size: number, indexOf: (i: number) => number): Lookup {
  const indices = new Int32Array(count);
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

/** `indices` made relative to the window's origin, in place (−1 stays −1; all −1 for an empty window). */
function relativeTo(indices: Int32Array, origin: number, empty: boolean): Int32Array {
  if (empty) return indices.fill(-1);
  for (let i = 0; i < indices.length; i++) if (indices[i]! >= 0) indices[i]! -= origin;
  return indices;
}
