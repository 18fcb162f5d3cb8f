/**
 * Checks a worker's result against its strip before a byte of it is stitched: exactly the job's
 * indices, each a stitchable PNG of the strip's size, statistics that fit the strip. A result that
 * does not fit is the worker's fault (RejectedResultError: the strip is handed out again).
 */
import { crc32, type Crc32 } from '../shared/checksum.js';
import { TesseraError, describeError } from '../shared/errors.js';
import { parseStripPng, type StripData } from '../shared/png/strip-png.js';
import type { SubmitResultRequest__Output } from '../shared/proto/tile-service.js';
import type { IndexName } from '../shared/types.js';
import { RejectedResultError } from './dispatch/tile-dispatcher.js';

/** Each index's stitchable data, in the job's order of indices. */
export type CheckedStrip = ReadonlyMap<IndexName, StripData>;

export function checkStripResult(
  result: SubmitResultRequest__Output,
  strip: { readonly index: number; readonly rows: number },
  width: number,
  indices: readonly IndexName[],
  /** What checks the PNG chunks' CRCs (node:zlib's unless told). */
  crc: Crc32 = crc32,
): CheckedStrip {
  const parsed = new Map<IndexName, StripData>();
  try {
    for (const tile of result.tiles) {
      const index = tile.index as IndexName;
      if (!indices.includes(index)) throw new TesseraError(`unexpected index "${tile.index}" in result`);
      if (parsed.has(index)) throw new TesseraError(`index "${tile.index}" returned twice`);
      const pixels = width * strip.rows;
      const most = maxStripPngBytes(width, strip.rows);
      if (tile.png.length > most) throw new TesseraError(`${tile.index}: a ${tile.png.length}-byte PNG for a strip whose PNG cannot exceed ${most} bytes`);
      if ((tile.stats?.validPixels ?? 0) > pixels) throw new TesseraError(`${tile.index}: ${tile.stats?.validPixels} valid pixels in a strip of ${pixels}`);
      const masked = tile.stats?.maskedPixels ?? 0;
      if (masked + (tile.stats?.validPixels ?? 0) > pixels) throw new TesseraError(`${tile.index}: ${masked} masked and ${tile.stats?.validPixels} valid pixels in a strip of ${pixels}`);
      parsed.set(index, parseStripPng(tile.png, { width, rows: strip.rows }, crc));
    }
    const missing = indices.filter((index) => !parsed.has(index));
    if (missing.length > 0) throw new TesseraError(`result lacks ${missing.join(', ')}`);
  } catch (error) {
    throw new RejectedResultError(`strip ${strip.index}: ${describeError(error)}`, { cause: error });
  }
  return parsed;
}

/**
 * The largest PNG a strip can honestly be: its filtered rows stored uncompressed (DEFLATE's worst
 * case adds 5 bytes per 64 KiB) plus the chunks around them, with room to spare. Anything bigger is
 * refused before it is parsed or held.
 */
export function maxStripPngBytes(width: number, rows: number): number {
  const filtered = rows * (width + 1);
  return filtered + Math.ceil(filtered / 128) + 64 * 1024;
}
