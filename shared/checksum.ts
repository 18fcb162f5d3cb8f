import { crc32 as zlibCrc32 } from 'node:zlib';
import { ChecksumMismatchError } from './errors.js';

/** zlib's CRC-32 of `data`, continuing from `initial`: node:zlib's (crc32), or a faster one (ISA-L's, shared/native/isal.ts). */
export type Crc32 = (data: Uint8Array, initial?: number) => number;

/** CRC-32 (as zlib computes it) of a payload, as an unsigned 32-bit integer. */
export const crc32: Crc32 = (data, initial = 0) => zlibCrc32(data, initial) >>> 0;

/** Throws ChecksumMismatchError when `data` does not match `expected`. */
export function verifyCrc32(what: string, data: Uint8Array, expected: number): void {
  const actual = crc32(data);
  if (actual !== expected >>> 0) throw new ChecksumMismatchError(what, expected, actual);
}
