/**
 * The master's side of a stitchable strip PNG (strip-png.ts): a worker's PNG checked against the
 * strip it was asked for and cut into the bytes the master concatenates, without inflating the rows.
 */
import { constants, inflateRawSync } from 'node:zlib';
import { crc32, type Crc32 } from '../checksum.js';
import { decodeIhdr, PngFormatError, readChunks, type PngChunk, type PngHeader } from './png-chunks.js';
import { FilterType, FIRST_ROW_FILTER_TYPES } from './scanline-filter.js';
import { assertSize, GREY, InvalidStripError, type StripData } from './strip-data.js';
import { FINAL_EMPTY_BLOCK, STREAM_TAIL_LENGTH, SYNC_FLUSH_MARKER, zlibHeaderProblem } from './zlib-framing.js';

/**
 * Compressed bytes of the strip inflated to read its first filter-type byte, tried in turn. A DEFLATE
 * block header fits in well under 1 KiB; strips measured 2026-12-01 needed 32–48 bytes (small random
 * ones over 64), and a short first try keeps the output small: 128 bytes of a no-data strip inflate
 * to ~130 KB in ~0.2 ms, 1 KiB to ~1 MB in ~1.3 ms.
 */
const FIRST_BYTE_PREFIXES = [128, 1024] as const;

const PNG_COLOUR_NAMES: Readonly<Record<number, string>> = {
  0: 'greyscale',
  2: 'RGB',
  3: 'indexed',
  4: 'greyscale with alpha',
  6: 'RGBA',
};
const FILTER_NAMES = ['None', 'Sub', 'Up', 'Average', 'Paeth'];

/**
 * The stitchable parts of a strip PNG, checked against the strip the master expects. Costs the chunk
 * CRCs plus inflating a prefix of at most 1 KiB (for the first filter byte, see firstFilterType); the
 * rows are not decompressed. Throws InvalidStripError with a readable reason for anything that cannot
 * be stitched. `crc` checks the chunk CRCs (node:zlib's unless told).
 */
export function parseStripPng(png: Buffer, expected: { readonly width: number; readonly rows: number }, crc: Crc32 = crc32): StripData {
  assertSize('parseStripPng', expected.width, expected.rows);
  const chunks = readStripChunks(png, crc);
  checkHeader(chunks[0]!, expected);
  checkChunkLayout(chunks);
  const { header, deflate, tail, chunk } = zlibParts(png, chunks);
  checkZlibFraming(header, deflate, tail);
  const firstType = firstFilterType(deflate);
  if (!FIRST_ROW_FILTER_TYPES.includes(firstType)) {
    throw new InvalidStripError(
      `strip's first row uses filter type ${firstType} (${FILTER_NAMES[firstType] ?? 'unknown'}), which reads ` +
        `the row above it; a strip's first row must use None (${FilterType.none}) or Sub (${FilterType.sub})`,
    );
  }
  return {
    deflate,
    adler32: tail.readUInt32BE(tail.length - 4),
    filteredLength: expected.rows * (expected.width + 1),
    ...(chunk ? { chunk } : {}),
  };
}

/** The zlib stream's header, DEFLATE bytes and tail (final block + Adler-32), as views where possible. */
interface ZlibParts {
  readonly header: Buffer;
  readonly deflate: Buffer;
  readonly tail: Buffer;
  /** The stored IDAT chunk holding exactly `deflate`, when the strip has the three-chunk layout. */
  readonly chunk?: Buffer;
}

/**
 * Splits the IDAT data into the zlib header, the rows and the tail. With encodeStripPng's layout (a
 * 2-byte IDAT, the rows' IDAT, a tail IDAT) the rows' chunk is returned as stored (its CRC was checked
 * by readChunks); any other IDAT split is joined and cut.
 */
function zlibParts(png: Buffer, chunks: readonly PngChunk[]): ZlibParts {
  const idats = chunks.filter((c) => c.type === 'IDAT');
  const [head, rows, end] = idats;
  if (idats.length === 3 && head!.data.length === 2 && end!.data.length === STREAM_TAIL_LENGTH) {
    const chunk = png.subarray(rows!.offset, rows!.offset + rows!.data.length + 12);
    return { header: head!.data, deflate: rows!.data, tail: end!.data, chunk };
  }
  const stream = joinIdat(chunks);
  const minimum = 2 + SYNC_FLUSH_MARKER.length + STREAM_TAIL_LENGTH;
  if (stream.length < minimum) {
    throw new InvalidStripError(`strip's zlib stream has ${stream.length} bytes, fewer than the ${minimum} a strip needs`);
  }
  const tailAt = stream.length - STREAM_TAIL_LENGTH;
  return { header: stream.subarray(0, 2), deflate: stream.subarray(2, tailAt), tail: stream.subarray(tailAt) };
}

/** The chunks, IHDR first, with lengths and CRCs checked. */
function readStripChunks(png: Buffer, crc: Crc32): PngChunk[] {
  const chunks = asInvalidStrip(() => readChunks(png, crc));
  if (chunks[0]?.type !== 'IHDR') {
    throw new InvalidStripError(`strip PNG starts with a ${chunks[0]?.type} chunk, not IHDR`);
  }
  return chunks;
}

/** One run of IDATs and no critical chunk besides IHDR, IDAT, IEND; no tRNS (it would change the meaning). */
function checkChunkLayout(chunks: readonly PngChunk[]): void {
  let idatRuns = 0;
  chunks.forEach((chunk, i) => {
    if (chunk.type === 'IDAT' && chunks[i - 1]?.type !== 'IDAT') idatRuns++;
    const critical = chunk.type[0] === chunk.type[0]!.toUpperCase();
    const allowed = critical
      ? ['IDAT', 'IEND'].includes(chunk.type) || (chunk.type === 'IHDR' && i === 0)
      : chunk.type !== 'tRNS';
    if (!allowed) {
      throw new InvalidStripError(
        `strip PNG has chunk ${chunk.type} at byte ${chunk.offset}, which a grey strip must not have`,
      );
    }
  });
  if (idatRuns === 0) throw new InvalidStripError('strip PNG has no IDAT chunk (no pixel data)');
  if (idatRuns > 1) throw new InvalidStripError('strip PNG has IDAT chunks separated by other chunks');
}

function checkHeader(ihdr: PngChunk, expected: { readonly width: number; readonly rows: number }): void {
  const header: PngHeader = asInvalidStrip(() => decodeIhdr(ihdr.data));
  if (header.width !== expected.width || header.height !== expected.rows) {
    throw new InvalidStripError(
      `strip is a ${header.width}×${header.height} PNG, expected ${expected.width}×${expected.rows}`,
    );
  }
  if (header.colourType !== GREY) {
    const name = PNG_COLOUR_NAMES[header.colourType] ?? 'unknown';
    throw new InvalidStripError(`strip PNG has colour type ${header.colourType} (${name}), expected 0 (greyscale)`);
  }
  if (header.bitDepth !== 8) throw new InvalidStripError(`strip PNG has bit depth ${header.bitDepth}, expected 8`);
  if (header.interlace !== 0) throw new InvalidStripError('strip PNG is interlaced (Adam7); strips must not be');
}

/** The zlib stream: IDAT data concatenated (a view, not a copy, when there is a single IDAT). */
function joinIdat(chunks: readonly PngChunk[]): Buffer {
  const parts = chunks.filter((c) => c.type === 'IDAT').map((c) => c.data);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

function checkZlibFraming(header: Buffer, deflate: Buffer, tail: Buffer): void {
  if (deflate.length < SYNC_FLUSH_MARKER.length) {
    throw new InvalidStripError(`strip's compressed rows have ${deflate.length} bytes, fewer than a sync flush`);
  }
  const problem = zlibHeaderProblem(header[0]!, header[1]!);
  if (problem) throw new InvalidStripError(`strip's zlib header is invalid: ${problem}`);
  const flushed = deflate.subarray(deflate.length - SYNC_FLUSH_MARKER.length).equals(SYNC_FLUSH_MARKER);
  const finalBlock = tail.subarray(0, FINAL_EMPTY_BLOCK.length).equals(FINAL_EMPTY_BLOCK);
  if (!flushed || !finalBlock) {
    throw new InvalidStripError(
      "strip's zlib stream does not end with a sync flush (00 00 FF FF) and an empty final block (03 00) " +
        `before its checksum (its last bytes are ${spacedHex(Buffer.concat([deflate.subarray(-4), tail]))}): ` +
        'it was compressed as a whole image, not as a stitchable strip',
    );
  }
}

/**
 * The first row's filter-type byte, the first byte the strip inflates to. This is the one place the
 * master inflates anything: a filter that reads the row above (Up, Average, Paeth) would, once
 * stitched, read the previous strip's last row and silently corrupt the mosaic, and nothing outside
 * the compressed data tells. Only a short prefix is inflated: 20–250 µs, where checking the CRCs of a
 * 10980 × 1024 strip of 3 MB takes about 1 ms (measured 2026-12-01).
 */
function firstFilterType(deflate: Buffer): number {
  for (const size of FIRST_BYTE_PREFIXES) {
    let head: Buffer;
    try {
      head = inflateRawSync(deflate.subarray(0, size), { finishFlush: constants.Z_SYNC_FLUSH });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new InvalidStripError(`strip's compressed rows are corrupt at the start: ${reason}`, { cause: error });
    }
    if (head.length > 0) return head[0]!;
    if (size >= deflate.length) break;
  }
  throw new InvalidStripError(
    `strip's compressed rows yield no byte from their first ${Math.min(deflate.length, FIRST_BYTE_PREFIXES[1])} bytes`,
  );
}

/** `read()`, with a PngFormatError turned into an InvalidStripError saying the strip is not a valid PNG. */
function asInvalidStrip<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof PngFormatError) {
      throw new InvalidStripError(`strip is not a valid PNG: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

function spacedHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').replace(/(..)(?!$)/g, '$1 ').toUpperCase();
}
