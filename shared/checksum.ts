import { crc32 as zlibCrc32 } from 'node:zlib';
import { ChecksumMismatchError } from './errors.js';

/** CRC-32 (as zlib computes it) of a payload, as an unsigned 32-bit integer. */
export function crc32(data: Uint8Array): number {
  return zlibCrc32(data) >>> 0;
}

/** Throws ChecksumMismatchError when `data` does not match `expected`. */
export function verifyCrc32(what: string, data: Uint8Array, expected: number): void {
  const actual = crc32(data);
  if (actual !== expected >>> 0) throw new ChecksumMismatchError(what, expected, actual);
}
