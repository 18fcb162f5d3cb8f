/**
 * The stored (compressed) blocks of a GeoTIFF band that cover a window: which blocks, where they
 * are in the file, and reading them in batches through the file's block cache. Tiles and a striped
 * file's strips are both blocks; a strip is as wide as the image.
 */
import { SourceReadError } from '../../shared/errors.js';
import type { BlockRef } from '../../shared/proto/tile-service.js';
import type { BandSource } from './band-source.js';

/** TIFF compressions whose blocks a worker decodes itself (see shared/raster/block-decoder.ts). */
export const WORKER_COMPRESSIONS: ReadonlySet<number> = new Set([1, 5, 8, 32946, 32773, 50000]);

/** TIFF compressions whose blocks are zlib streams, which carry an Adler-32 of their own. */
export const ZLIB_COMPRESSIONS: ReadonlySet<number> = new Set([8, 32946]);

/** A block to send: where it is in the grid of blocks and in the file. */
export interface StoredBlock extends Required<BlockRef> {
  readonly offset: number;
}

/** A window of a band's pixel space, in source pixels. */
export interface PixelWindow {
  readonly x0: number;
  readonly y0: number;
  readonly width: number;
  readonly height: number;
}

/** Bytes to read in one call at most, when blocks are fetched in batches. */
const BATCH_BYTES = 16 * 1024 * 1024;

/**
 * Whether a band's blocks can travel as stored: a compression the worker decodes, little-endian,
 * every sample the same byte-aligned 8/16/32/64-bit type (float16 excluded), and a predictor the
 * worker undoes.
 */
export function canShipEncoded(source: BandSource): boolean {
  const bits = source.bitsPerSample[0] ?? 0;
  const format = source.sampleFormats[0] ?? 1;
  return (
    WORKER_COMPRESSIONS.has(source.compression) &&
    source.littleEndian &&
    source.bitsPerSample.length === source.samplesPerPixel &&
    source.bitsPerSample.every((b) => b === bits) &&
    source.sampleFormats.every((f) => f === format) &&
    [8, 16, 32, 64].includes(bits) &&
    !(format === 3 && bits === 16) &&
    (source.predictor === 1 || (source.predictor === 2 && bits <= 32 && format !== 3) || (source.predictor === 3 && format === 3))
  );
}

/**
 * The blocks covering `window` for the given samples (planar files: one plane each; chunky: plane
 * 0 holds them all), in plane, row, column order; or null when a sparse block would read as a fill
 * value other than 0 (workers fill sparse blocks with 0; GDAL uses the nodata value), so the caller
 * must ship decoded samples instead.
 */
export async function locateBlocks(source: BandSource, window: PixelWindow, samples: readonly number[]): Promise<StoredBlock[] | null> {
  const directory = source.file.image.getFileDirectory();
  const { blockWidth, blockHeight, tiled } = source.layout;
  const across = Math.ceil(source.width / blockWidth);
  const down = Math.ceil(source.height / blockHeight);
  const planes = source.planarConfiguration === 2 ? samples : [0];
  const [offsetsTag, countsTag] = tiled ? (['TileOffsets', 'TileByteCounts'] as const) : (['StripOffsets', 'StripByteCounts'] as const);
  // Load each offset/byte-count array whole, once per file: geotiff would otherwise fetch every
  // index on its own (one range request each for remote files).
  await Promise.all([directory.loadValue(offsetsTag), directory.loadValue(countsTag)]);
  const blocks: StoredBlock[] = [];
  for (const sample of planes) {
    for (let row = Math.floor(window.y0 / blockHeight); row <= Math.floor((window.y0 + window.height - 1) / blockHeight); row++) {
      for (let column = Math.floor(window.x0 / blockWidth); column <= Math.floor((window.x0 + window.width - 1) / blockWidth); column++) {
        const index = sample * across * down + row * across + column;
        const offset = Number(await directory.loadValueIndexed(offsetsTag, index));
        const byteCount = Number(await directory.loadValueIndexed(countsTag, index));
        if (!Number.isFinite(offset) || !Number.isFinite(byteCount)) {
          throw new SourceReadError(`${source.label}: the file has no offset or byte count for block ${index}`);
        }
        blocks.push({ column, row, sample, offset, byteCount });
      }
    }
  }
  if (blocks.some((b) => b.byteCount === 0) && (source.nodata ?? 0) !== 0) return null;
  return blocks;
}

/**
 * Reads the stored bytes of `blocks` (sparse ones skipped), a batch of up to BATCH_BYTES at a time
 * with the next batch already being read, and yields each block with its bytes in order.
 */
export async function* readStoredBlocks(
  source: BandSource,
  blocks: readonly StoredBlock[],
  signal?: AbortSignal,
): AsyncGenerator<{ readonly block: StoredBlock; readonly data: Buffer }> {
  const stored = blocks.filter((b) => b.byteCount > 0);
  const batches: StoredBlock[][] = [];
  let bytes = Infinity;
  for (const block of stored) {
    if (bytes + block.byteCount > BATCH_BYTES) {
      batches.push([]);
      bytes = 0;
    }
    batches[batches.length - 1]!.push(block);
    bytes += block.byteCount;
  }
  const read = (batch: readonly StoredBlock[]): Promise<Buffer[]> => readBatch(source, batch, signal);
  let next = batches[0] ? read(batches[0]) : undefined;
  for (let at = 0; at < batches.length; at++) {
    const current = await next!;
    next = batches[at + 1] ? read(batches[at + 1]!) : undefined;
    next?.catch(() => undefined); // a failure is reported when its turn comes
    const batch = batches[at]!;
    for (let i = 0; i < batch.length; i++) yield { block: batch[i]!, data: current[i]! };
  }
}

async function readBatch(source: BandSource, batch: readonly StoredBlock[], signal?: AbortSignal): Promise<Buffer[]> {
  const { image } = source.file;
  const ranges = batch.map((b) => ({ offset: b.offset, length: b.byteCount }));
  const fetchRanges = (wanted: readonly { offset: number; length: number }[]) => image.source.fetch([...wanted], signal);
  const cache = source.file.blocks;
  const fetched: readonly (Buffer | ArrayBufferLike)[] = cache ? await cache.read(ranges, fetchRanges) : await fetchRanges(ranges);
  return batch.map((b, i) => {
    const chunk = fetched[i]!;
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as ArrayBuffer);
    if (bytes.length < b.byteCount) {
      throw new SourceReadError(`${source.label}: block (${b.column}, ${b.row}) is truncated: read ${bytes.length} of ${b.byteCount} bytes`);
    }
    return bytes.subarray(0, b.byteCount);
  });
}
