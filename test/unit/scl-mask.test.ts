/**
 * The SCL mask on the worker's kernels: a masked pixel is code 0 in a normalised difference and in
 * an expression, left out of their statistics, and every other pixel keeps the code and value it has
 * without the mask; the mask counts the pixels under the chosen classes, through the lookups.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeExpressionTile } from '../../shared/raster/expression-tile.js';
import { computeIndexTile, type BandSamples } from '../../shared/raster/index-math.js';
import { computeSclMask } from '../../shared/raster/scl-mask.js';

const WIDTH = 6;
const HEIGHT = 4;
const identity = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);
const band = (values: number[]): BandSamples => ({ values: Uint16Array.from(values), windowWidth: WIDTH, nodata: 0, columns: identity(WIDTH), rows: identity(HEIGHT) });
const nir = band(Array.from({ length: WIDTH * HEIGHT }, (_, i) => 3000 + 97 * i));
const red = band(Array.from({ length: WIDTH * HEIGHT }, (_, i) => 1200 + 31 * ((i * 7) % 13)));
// A 3 × 2 scl band at twice the pixel size, read through lookups as the master samples B11.
const scl: BandSamples = { values: Uint8Array.from([4, 9, 11, 3, 0, 5]), windowWidth: 3, nodata: null, columns: Int32Array.from([0, 0, 1, 1, 2, 2]), rows: Int32Array.from([0, 0, 1, 1]) };

test('the mask covers the pixels under the chosen classes, through the lookups', () => {
  const { mask, masked } = computeSclMask(scl, [0, 1, 3, 8, 9, 10], WIDTH, HEIGHT);
  const expected = [0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0];
  assert.deepEqual([...mask], expected);
  assert.equal(masked, expected.filter((m) => m === 1).length);
  assert.equal(computeSclMask(scl, [], WIDTH, HEIGHT).masked, 0);
});

test('masked pixels are 0 and left out of the statistics; the others are as without the mask', () => {
  const { mask } = computeSclMask(scl, [0, 3, 9], WIDTH, HEIGHT);
  const common = { width: WIDTH, height: HEIGHT, reflectanceOffset: -1000 };
  const kernels = {
    ndvi: (withMask: boolean) => computeIndexTile({ ...common, a: nir, b: red, ...(withMask ? { mask } : {}) }),
    expression: (withMask: boolean) => computeExpressionTile({ ...common, text: '(nir - red) / (nir + red)', bands: new Map([['nir', nir], ['red', red]]), ...(withMask ? { mask } : {}) }),
  };
  for (const [name, run] of Object.entries(kernels)) {
    const [plain, masked] = [run(false), run(true)];
    assert.deepEqual([...masked.codes], [...plain.codes].map((code, i) => (mask[i] === 1 ? 0 : code)), `${name}: codes`);
    const kept = [...plain.codes].filter((_, i) => mask[i] === 0).length;
    assert.equal(masked.stats.validPixels, kept, `${name}: valid pixels`);
    assert.ok(masked.stats.sum < plain.stats.sum, `${name}: the sum leaves the masked values out`);
  }
});
