/**
 * Band-math expressions: parsed by a closed grammar (never evaluated as JavaScript), compiled into
 * row loops whose values equal a direct float computation, mapped onto codes as NDVI's are.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidRequestError } from '../../shared/errors.js';
import { bandsOf, parseExpression } from '../../shared/expression/parse-expression.js';
import { compileExpression, toCodes } from '../../shared/expression/compile-expression.js';
import { prng } from '../support/prng.js';

const BANDS = ['red', 'nir', 'green', 'blue', 'swir16', 'swir22'];

function evaluate(text: string, values: Record<string, number[]>): number[] {
  const node = parseExpression(text, BANDS);
  const used = bandsOf(node);
  const length = Object.values(values)[0]?.length ?? 1;
  const compiled = compileExpression(node, used);
  return [...compiled.evaluate(used.map((band) => Float32Array.from(values[band] ?? [])), length).subarray(0, length)];
}

test('precedence and associativity: * and / before + and -, left to right, unary minus', () => {
  assert.deepEqual(evaluate('red + nir * 2', { red: [1], nir: [3] }), [7]);
  assert.deepEqual(evaluate('(red + nir) * 2', { red: [1], nir: [3] }), [8]);
  assert.deepEqual(evaluate('red - nir - 1', { red: [10], nir: [3] }), [6]);
  assert.deepEqual(evaluate('red / nir / 2', { red: [12], nir: [3] }), [2]);
  assert.deepEqual(evaluate('-red * -nir', { red: [2], nir: [3] }), [6]);
  assert.deepEqual(evaluate('1e1 + .5 + 2.', { red: [0] }), [12.5]);
});

test('the compiled loops equal a direct float32 computation for EVI and a normalised difference, on random pixels', () => {
  const random = prng(7);
  const n = 1000;
  const band = (): number[] => Array.from({ length: n }, () => Math.fround(random() * 0.6));
  const [red, nir, blue] = [band(), band(), band()];
  const evi = evaluate('2.5 * (nir - red) / (nir + 6 * red - 7.5 * blue + 1)', { red, nir, blue });
  const nd = evaluate('(nir - red) / (nir + red)', { red, nir });
  const f = Math.fround;
  for (let i = 0; i < n; i++) {
    const [r, ni, b] = [red[i] as number, nir[i] as number, blue[i] as number];
    const expected = f(f(2.5 * f(ni - r)) / f(f(f(ni + f(6 * r)) - f(7.5 * b)) + 1));
    assert.equal(evi[i], expected, `EVI pixel ${i}`);
    assert.equal(nd[i], f(f(ni - r) / f(ni + r)), `ND pixel ${i}`);
  }
});

test('constants fold; a constant expression still gives a row', () => {
  assert.deepEqual(evaluate('2 * 3 - -1', { red: [0, 0, 0] }), [7, 7, 7]);
});

test('registers are reused: a second, shorter row gives its own answers', () => {
  const node = parseExpression('nir - red', BANDS);
  const compiled = compileExpression(node, bandsOf(node));
  assert.deepEqual([...compiled.evaluate([Float32Array.of(5, 6, 7), Float32Array.of(1, 1, 1)], 3)], [4, 5, 6]);
  assert.deepEqual([...compiled.evaluate([Float32Array.of(9), Float32Array.of(1)], 1).subarray(0, 1)], [8]);
});

test('bad expressions are refused with what and where, never run', () => {
  const refusals: [string, RegExp][] = [
    ['(nir - red', /lacks a "\)" at its end/],
    ['nir - ', /ends where a number, a band or "\(" should follow/],
    ['nir red', /more after a complete expression .* column 5/],
    ['nir + ndwi', /"ndwi", which is not a band \(the bands: red, nir/],
    ['constructor', /"constructor", which is not a band/],
    ['__proto__ * 2', /"__proto__", which is not a band/],
    ['process.exit(1)', /"\." at column 8, which is not a number/],
    ['nir ** 2', /"\*" where a number, a band or "\(" should be/],
    ['nir; red', /";" at column 4/],
    ['`nir`', /"`" at column 1/],
    ['', /the expression is empty/],
    ['nir)', /a "\)" without its "\("/],
    ['1e999 * nir', /a number too large/],
    ['x'.repeat(100_000), /100000 characters long, more than the 500 allowed/],
    [`${'('.repeat(20)}nir${')'.repeat(20)}`, /nests deeper than 16 levels/],
    [Array.from({ length: 40 }, () => 'nir').join(' + '), /more than 64 numbers, bands and operators/],
  ];
  for (const [text, message] of refusals) {
    assert.throws(() => parseExpression(text, BANDS), (error: unknown) => {
      assert.ok(error instanceof InvalidRequestError, `${text.slice(0, 40)}: ${String(error)}`);
      assert.match(error.message, message, text.slice(0, 40));
      return true;
    });
  }
});

test('bandsOf lists each band once, in order of first use', () => {
  assert.deepEqual(bandsOf(parseExpression('(nir - swir16) / (nir + swir16) + red * 0', BANDS)), ['nir', 'swir16', 'red']);
});

test('toCodes: the [-1, 1] mapping is NDVI\'s; ranges clamp; invalid and non-finite pixels are 0', () => {
  const values = Float32Array.of(-1, 0, 1, 0.5, -3, 3, Number.NaN, Number.POSITIVE_INFINITY, 0.2);
  const valid = Uint8Array.of(1, 1, 1, 1, 1, 1, 1, 1, 0);
  const out = new Uint8Array(values.length);
  toCodes(values, valid, values.length, { min: -1, max: 1 }, out);
  assert.deepEqual([...out], [1, 128, 255, 1 + Math.round(1.5 * 127), 1, 255, 0, 0, 0]);
  toCodes(Float32Array.of(0, 1, 2.5), Uint8Array.of(1, 1, 1), 3, { min: 0, max: 2.5 }, out);
  assert.deepEqual([...out.subarray(0, 3)], [1, 1 + Math.round(254 / 2.5), 255]);
});
