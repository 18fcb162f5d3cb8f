/**
 * The zlib framing (RFC 1950) around raw DEFLATE data that lets independently compressed parts be
 * concatenated into one stream: every part ends with a sync flush (an empty stored block, bytes
 * 00 00 FF FF, no final-block bit), and the whole stream ends with an empty final fixed block (03 00)
 * and the big-endian Adler-32 of all the uncompressed bytes.
 */
import { constants } from 'node:zlib';

/** What Z_SYNC_FLUSH leaves at the end of a part: an empty stored block. */
export const SYNC_FLUSH_MARKER: Buffer = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** An empty DEFLATE block with the final bit set (fixed Huffman codes, just end-of-block). */
export const FINAL_EMPTY_BLOCK: Buffer = Buffer.from([0x03, 0x00]);

/** Bytes after the last part: the final empty block and the 4-byte Adler-32. */
export const STREAM_TAIL_LENGTH = FINAL_EMPTY_BLOCK.length + 4;

/**
 * The 2-byte zlib header zlib itself writes for a 32 KiB window (the largest DEFLATE allows, so valid
 * for parts compressed with any window) at this level and strategy; FLEVEL is informational only.
 */
export function zlibHeader(level: number, strategy: number = constants.Z_DEFAULT_STRATEGY): Buffer {
  const levelFlags = strategy >= constants.Z_HUFFMAN_ONLY || level < 2 ? 0 : level < 6 ? 1 : level === 6 ? 2 : 3;
  const cmf = 0x78; // CM = 8 (deflate), CINFO = 7 (32 KiB window)
  const flg = levelFlags << 6;
  return Buffer.from([cmf, flg + (31 - ((cmf * 256 + flg) % 31))]);
}

/** What is wrong with a zlib header (CMF, FLG), or undefined if a PNG decoder accepts it. */
export function zlibHeaderProblem(cmf: number, flg: number): string | undefined {
  if ((cmf & 0x0f) !== 8) return `compression method ${cmf & 0x0f} is not 8 (deflate)`;
  if (cmf >> 4 > 7) return `window size code ${cmf >> 4} is above 7 (32 KiB)`;
  if ((cmf * 256 + flg) % 31 !== 0) return `header check bits are wrong (bytes ${hex2(cmf)} ${hex2(flg)})`;
  if (flg & 0x20) return 'a preset dictionary is required (FDICT set), which PNG forbids';
  return undefined;
}

/** The end of a whole stream: the final empty block, then the Adler-32 of everything, big-endian. */
export function zlibTrailer(adler: number): Buffer {
  const tail = Buffer.alloc(STREAM_TAIL_LENGTH);
  FINAL_EMPTY_BLOCK.copy(tail, 0);
  tail.writeUInt32BE(adler >>> 0, FINAL_EMPTY_BLOCK.length);
  return tail;
}

function hex2(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}
