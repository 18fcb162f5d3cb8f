/**
 * Adler-32 (RFC 1950), the checksum at the end of a zlib stream, and zlib's `adler32_combine`: the
 * checksum of A‖B from those of A and B and B's length. The master combines the strips' checksums
 * this way, so it never reads the pixels they cover.
 */

/** The Adler-32 modulus: the largest prime below 2^16. */
const BASE = 65521;

/**
 * Bytes summed between reductions mod BASE. zlib's NMAX (5552) is the largest n keeping both sums below
 * 2^32; this is the largest keeping them below 2^31 (255·n·(n+1)/2 + (n+1)·(BASE−1) ≤ 2^31 − 1), so V8
 * can keep them as int32: measured 2026-12-01 on 11 MB, 1150 MB/s against 870 MB/s with runs of 5552.
 */
const RUN = 3854;

/** Adler-32 of `data`, continuing from `initial` (1 = the checksum of nothing), as an unsigned 32-bit integer. */
export function adler32(data: Uint8Array, initial = 1): number {
  let a = initial & 0xffff;
  let b = initial >>> 16;
  const n = data.length;
  let i = 0;
  while (i < n) {
    const end = Math.min(i + RUN, n);
    for (; i < end; i++) {
      a = (a + data[i]!) | 0;
      b = (b + a) | 0;
    }
    a %= BASE;
    b %= BASE;
  }
  return (b * 65536 + a) >>> 0;
}

/**
 * Adler-32 of A‖B, given adler32(A), adler32(B) and B's length in bytes (zlib's adler32_combine).
 * `lengthB` may exceed 2^32 (a whole mosaic's filtered bytes); only lengthB mod BASE matters, and every
 * intermediate stays below 2^33, well inside JavaScript's safe integers.
 */
export function adler32Combine(adlerA: number, adlerB: number, lengthB: number): number {
  if (!Number.isSafeInteger(lengthB) || lengthB < 0) {
    throw new RangeError(`adler32Combine: length ${lengthB} is not a non-negative safe integer`);
  }
  const rem = lengthB % BASE;
  const a1 = adlerA & 0xffff;
  const b1 = adlerA >>> 16;
  const a2 = adlerB & 0xffff;
  const b2 = adlerB >>> 16;
  // a(A‖B) = a1 + a2 − 1;  b(A‖B) = b1 + b2 + rem·(a1 − 1)  (mod BASE), kept non-negative by adding BASE.
  const a = (a1 + a2 + BASE - 1) % BASE;
  const b = (b1 + b2 + ((rem * a1) % BASE) + BASE - rem) % BASE;
  return (b * 65536 + a) >>> 0;
}
