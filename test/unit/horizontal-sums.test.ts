/**
 * HorizontalSums (predictor 2 undone in WebAssembly SIMD) against the reference undo of block-predictor.ts:
 * wrapping 16-bit sums, blocks of more rows than its memory holds at once (several chunks), a column
 * range cut out of each row, and the cases it declines (returns false, writes nothing) so the caller's
 * loop does them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { undoHorizontalPredictor } from '../../shared/raster/block-predictor.js';
import { HorizontalSums } from '../../shared/raster/horizontal-sums.js';
import { prng } from '../support/prng.js';

function randomDifferences<T extends Uint16Array | Int16Array>(array: T, seed: number): T {
  const rand = prng(seed);
  const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rand() * 256);
  return array;
}

describe('HorizontalSums', () => {
  for (const Ctor of [Uint16Array, Int16Array]) {
    it(`sums ${Ctor.name} rows like the reference predictor, over several chunks of rows`, () => {
      const width = 1024;
      const rows = 300; // the module holds 128 rows of 1024 at a time
      const differences = randomDifferences(new Ctor(width * rows), 7);
      const undone = differences.slice();
      undoHorizontalPredictor(undone.buffer as ArrayBuffer, 2, width, rows, 1);
      const outStride = 2500;
      const start = 17;
      const end = 1001;
      const out = new Ctor(outStride * rows).fill(1234);
      const handled = new HorizontalSums().sumRowsInto(differences, 0, rows, width, start, end, { out, at: 100, outStride });
      assert.equal(handled, true);
      for (let r = 0; r < rows; r++) {
        const row = out.subarray(100 + r * outStride, 100 + r * outStride + width);
        assert.deepEqual(row.subarray(start, end), undone.subarray(r * width + start, r * width + end), `row ${r}`);
        assert.ok(row.subarray(0, start).every((v) => v === 1234) && row.subarray(end).every((v) => v === 1234), `row ${r}: nothing written outside [start, end)`);
      }
    });
  }

  it('starts each row from 0 and takes rows from an offset into the block', () => {
    const width = 8;
    const values = new Uint16Array([9, 9, 9, 9, 9, 9, 9, 9, 1, 1, 1, 1, 1, 1, 1, 1, 65535, 1, 0, 0, 0, 0, 0, 2]);
    const out = new Uint16Array(16);
    assert.equal(new HorizontalSums().sumRowsInto(values, width, 2, width, 0, width, { out, at: 0, outStride: width }), true);
    assert.deepEqual([...out], [1, 2, 3, 4, 5, 6, 7, 8, 65535, 0, 0, 0, 0, 0, 0, 2]);
  });

  it('declines what its loop cannot take, writing nothing', () => {
    const sums = new HorizontalSums();
    const target = (out: Uint8Array | Uint16Array | Int16Array | Uint32Array) => ({ out, at: 0, outStride: 24 });
    const out = new Uint16Array(24 * 2);
    assert.equal(sums.sumRowsInto(new Uint16Array(20 * 2), 0, 2, 20, 0, 20, target(out)), false, 'a width that is not a multiple of 8');
    assert.equal(sums.sumRowsInto(new Uint8Array(24 * 2), 0, 2, 24, 0, 24, target(new Uint8Array(48))), false, '8-bit samples');
    assert.equal(sums.sumRowsInto(new Uint32Array(24 * 2), 0, 2, 24, 0, 24, target(new Uint32Array(48))), false, '32-bit samples');
    assert.equal(sums.sumRowsInto(new Int16Array(24 * 2), 0, 2, 24, 0, 24, target(out)), false, 'signed in, unsigned out');
    assert.equal(sums.sumRowsInto(new Uint16Array(262144 + 8), 0, 1, 262144 + 8, 0, 8, target(out)), false, 'a row wider than its memory');
    assert.equal(sums.sumRowsInto(new Uint16Array(48), 0, 2, 24, 10, 30, target(out)), false, 'columns past the row');
    assert.ok(out.every((v) => v === 0));
  });
});
