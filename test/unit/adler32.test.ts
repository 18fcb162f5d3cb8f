import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';

import { adler32, adler32Combine } from '../../shared/png/adler32.js';
import { prng } from '../support/prng.js';

/** The Adler-32 zlib itself writes: the last 4 bytes of a zlib stream, big-endian. */
function zlibAdler(data: Uint8Array): number {
  const stream = deflateSync(data, { level: 1 });
  return stream.readUInt32BE(stream.length - 4);
}

function randomBytes(seed: number, n: number): Uint8Array {
  const rand = prng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
}

const BASE = 65521;

describe('adler32', () => {
  it('matches zlib on random data of many lengths, around the 3854-byte reduction run too', () => {
    for (const [seed, n] of [[1, 0], [2, 1], [3, 2], [4, 3853], [5, 3854], [6, 3855], [7, 7708], [8, 100_003]] as const) {
      const data = randomBytes(seed, n);
      assert.equal(adler32(data), zlibAdler(data), `${n} bytes`);
    }
  });

  it('matches zlib on all-0xFF data, where the sums grow fastest', () => {
    const data = new Uint8Array(1 << 20).fill(0xff);
    assert.equal(adler32(data), zlibAdler(data));
  });

  it('stays exact from the largest initial sums over all-0xFF data (no int32 overflow between reductions)', () => {
    const data = new Uint8Array(50_000).fill(0xff);
    const initial = (BASE - 1) * 65536 + (BASE - 1);
    let a = BASE - 1;
    let b = BASE - 1;
    for (const byte of data) {
      a = (a + byte) % BASE;
      b = (b + a) % BASE;
    }
    assert.equal(adler32(data, initial), b * 65536 + a);
  });

  it('continues from an initial value as if the data were joined', () => {
    const data = randomBytes(9, 20_000);
    assert.equal(adler32(data.subarray(7000), adler32(data.subarray(0, 7000))), zlibAdler(data));
  });
});

describe('adler32Combine', () => {
  it('combines random splits of random data into zlib’s checksum of the whole', () => {
    const rand = prng(10);
    for (let trial = 0; trial < 40; trial++) {
      const data = randomBytes(100 + trial, 1 + Math.floor(rand() * 30_000));
      const cut = Math.floor(rand() * (data.length + 1));
      const a = data.subarray(0, cut);
      const b = data.subarray(cut);
      assert.equal(adler32Combine(adler32(a), adler32(b), b.length), zlibAdler(data), `${data.length} bytes cut at ${cut}`);
    }
  });

  it('folds many parts left to right, as the stitcher does strip by strip', () => {
    const data = randomBytes(11, 50_000);
    const rand = prng(12);
    let combined = adler32(new Uint8Array(0));
    for (let start = 0; start < data.length; ) {
      const end = Math.min(data.length, start + 1 + Math.floor(rand() * 7000));
      const part = data.subarray(start, end);
      combined = adler32Combine(combined, adler32(part), part.length);
      start = end;
    }
    assert.equal(combined, zlibAdler(data));
  });

  it('takes part lengths beyond 2^32 (a run of zeros, whose checksum is known in closed form)', () => {
    // n zeros after A: a stays a(A), b grows by n·a(A); alone, n zeros have a = 1, b = n mod BASE.
    const zerosAdler = (n: number): number => (n % BASE) * 65536 + 1;
    const a = adler32(randomBytes(13, 1000));
    const [aLow, aHigh] = [a & 0xffff, a >>> 16];
    const small = 70_000;
    assert.equal(zerosAdler(small), adler32(new Uint8Array(small)), 'the closed form agrees with real zeros');
    for (const n of [small, 2 ** 32 + 12_345, 2 ** 40 + 7, Number.MAX_SAFE_INTEGER]) {
      const expected = ((aHigh + Number((BigInt(n) * BigInt(aLow)) % BigInt(BASE))) % BASE) * 65536 + aLow;
      assert.equal(adler32Combine(a, zerosAdler(n), n), expected, `${n} zeros`);
    }
  });

  it('refuses a length that is negative or not a safe integer', () => {
    assert.throws(() => adler32Combine(1, 1, -1), RangeError);
    assert.throws(() => adler32Combine(1, 1, 2 ** 53), RangeError);
    assert.throws(() => adler32Combine(1, 1, 1.5), RangeError);
  });
});
