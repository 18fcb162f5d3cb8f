/**
 * Stitchable strip PNGs. A worker encodes a full-width strip of index codes as a standalone 8-bit grey
 * PNG whose zlib stream is built to be cut apart again: raw DEFLATE ending in a sync flush
 * (00 00 FF FF, no final block), then an empty final block (03 00) and the Adler-32. The master parses
 * one back into exactly the bytes it concatenates into the mosaic, without inflating it.
 */
import { averageFilterRows } from './average-rows.js';
import { GrowingBytes } from '../growing-bytes.js';
import { beginChunk, encodeChunk, encodeIhdr, endChunk, PNG_SIGNATURE } from './png-chunks.js';
import { filterRows, type RowFilter } from './scanline-filter.js';
import { assertSize, GREY } from './strip-data.js';
import { CODES_DEFLATE, deflatedRoom, ZlibStripDeflater, type StripDeflater } from './strip-deflater.js';

export { InvalidStripError, type StripData } from './strip-data.js';
export { CODES_DEFLATE, oneChunkFor } from './strip-deflater.js';
export { parseStripPng } from './strip-png-parse.js';

/** Encoder settings; the defaults are the measured choice below. */
export interface StripEncodeOptions {
  readonly filter?: RowFilter;
  /** What compresses the rows (absent: node:zlib at `level` and `strategy`, CODES_DEFLATE's by default). */
  readonly deflater?: StripDeflater;
  /** zlib level, 0..9 (with no `deflater`). */
  readonly level?: number;
  /** A zlib strategy constant (constants.Z_RLE, …; with no `deflater`). */
  readonly strategy?: number;
  /** Memory for the filtered rows, rows × (width + 1) bytes (reused across strips); absent: new. */
  readonly filtered?: Uint8Array;
  /**
   * Memory the PNG is built in (reused across strips): the PNG returned is then a view of it, valid
   * until its next use. Absent: memory of its own.
   */
  readonly output?: GrowingBytes;
}

/**
 * Defaults measured with bench/png-strip-options.ts on 2026-12-01 (2 shared cores, load ≈ 2, so only
 * the ratios mean much; figures are MB/s of codes and size relative to the smallest candidate):
 * Average + level 1 + Z_RLE was the smallest on Landsat NDVI, Landsat NDSI and a noisy 10980-wide
 * field (Sub + L1 + RLE: 1.064–1.089×, Sub + L1 default: 1.08–1.33×, Sub + L6: 1.08–1.18×, sharp:
 * 1.18–1.75×) at 0.85–1.0× the speed of the fastest (Sub + L1 + RLE, or Huffman-only, which is up to
 * 8 % larger); on the 10980-wide field 75 MB/s against 57 (Sub L1 default), 11 (Sub L6) and 30 (sharp).
 * Paeth and adaptive filtering cost more time in JavaScript than they save in bytes.
 */
const DEFAULT_FILTER: RowFilter = 'average';
/** A strip PNG's bytes besides the rows' DEFLATE: signature, IHDR, three IDAT chunks' framing, the zlib header and tail, IEND. */
const PNG_OVERHEAD = 8 + 25 + 3 * 12 + 2 + 6 + 12;

/**
 * Encode `rows` full rows of `width` 8-bit codes (row-major, 0 = no-data) as a standalone grey PNG
 * whose IDAT the master can stitch (see the module header). Compression runs on libuv's thread pool.
 */
export async function encodeStripPng(
  codes: Uint8Array,
  width: number,
  rows: number,
  options: StripEncodeOptions = {},
): Promise<Buffer> {
  assertSize('encodeStripPng', width, rows);
  if (codes.length !== width * rows) {
    throw new RangeError(`encodeStripPng: ${codes.length} codes for a ${width}×${rows} strip`);
  }
  const deflater = options.deflater ?? new ZlibStripDeflater({ level: options.level ?? CODES_DEFLATE.level, strategy: options.strategy ?? CODES_DEFLATE.strategy });
  const filter = options.filter ?? DEFAULT_FILTER;
  const filtered = filter === 'average' ? averageFiltered(codes, width, rows, options.filtered) : filterRows(codes, width, rows, filter, options.filtered);
  const ihdr = encodeIhdr({ width, height: rows, bitDepth: 8, colourType: GREY, interlace: 0 });
  const out = options.output ?? new GrowingBytes();
  out.reset(PNG_OVERHEAD + deflatedRoom(filtered.length));
  // Three IDAT chunks (chunk boundaries mean nothing to a decoder): the rows get a chunk of their own,
  // which the master copies into the mosaic with its CRC, so it computes no CRC of the rows itself.
  // The deflater writes the rows into the PNG where they belong.
  out.append(PNG_SIGNATURE);
  out.append(encodeChunk('IHDR', ihdr));
  out.append(encodeChunk('IDAT', deflater.zlibHeader));
  const rowsChunk = beginChunk(out, 'IDAT');
  const tail = await deflater.deflateRows(filtered, out);
  endChunk(out, rowsChunk, deflater.crc32);
  out.append(encodeChunk('IDAT', tail));
  out.append(encodeChunk('IEND', Buffer.alloc(0)));
  return out.bytes();
}

/** filterRows(…, 'average', into) in WebAssembly (average-rows.ts): the same bytes, about six times as fast. */
export function averageFiltered(codes: Uint8Array, width: number, rows: number, into: Uint8Array | undefined): Uint8Array {
  const length = rows * (width + 1);
  if (into && into.length !== length) throw new RangeError(`encodeStripPng: ${into.length} bytes to filter ${rows} rows of ${width} into`);
  const out = into ?? new Uint8Array(length);
  averageFilterRows(codes, width, rows, out);
  return out;
}

