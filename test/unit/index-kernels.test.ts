/**
 * computeIndexTile's fast paths (index-kernels.ts), with and without the WebAssembly row kernel
 * (difference-rows.ts), against the loop they replaced, kept verbatim in
 * test/support/index-tile-reference.ts: every code and every statistic must be bit-identical.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DifferenceRows } from '../../shared/raster/difference-rows.js';
import { computeIndexTile, type BandSamples, type IndexTileInput } from '../../shared/raster/index-math.js';
import type { SampleArray, SampleType } from '../../shared/types.js';
import { referenceIndexTile } from '../support/index-tile-reference.js';
import { prng } from '../support/prng.js';

type Rand = () => number;
type LookupKind = 'identity' | 'shifted' | 'half' | 'half-odd' | 'edges' | 'holes' | 'random' | 'none';
const LOOKUPS: readonly LookupKind[] = ['identity', 'shifted', 'half', 'half-odd', 'edges', 'holes', 'random', 'none'];

const CONSTRUCTORS: Record<SampleType, new (length: number) => SampleArray> = {
  uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array,
  uint32: Uint32Array, int32: Int32Array, float32: Float32Array, float64: Float64Array,
};
const TYPES = Object.keys(CONSTRUCTORS) as SampleType[];
const FLOAT_SPECIALS = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 3e38, -3e38, 1e-40, 0.5, 999.5];

const pick = <T>(rand: Rand, items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;

/** Mostly DNs like imagery, with no-data values, zeros, small DNs (denominators ≤ 0 at offset −1000) and extremes. */
function sample(rand: Rand, type: SampleType, nodata: number | null): number {
  const r = rand();
  if (r < 0.03) return nodata ?? 0;
  if (r < 0.06) return 0;
  if (r < 0.12) return Math.floor(rand() * 1200); // around and below 1000: negative reflectance, den ≤ 0
  if (r < 0.15) {
    if (type.startsWith('float')) return pick(rand, FLOAT_SPECIALS);
    if (type === 'int8' || type === 'int16' || type === 'int32') return -Math.floor(rand() * 100);
    return type === 'uint8' ? 255 : type === 'uint16' ? 65535 : 4294967295;
  }
  const dn = Math.floor(rand() * 12000);
  if (type === 'uint8' || type === 'int8') return dn % 128;
  return type.startsWith('float') && rand() < 0.5 ? dn + rand() : dn;
}

function lookup(rand: Rand, kind: LookupKind, n: number, size: number): Int32Array {
  const c0 = Math.floor(rand() * 3);
  const clampTo = (v: number): number => Math.min(size - 1, v);
  switch (kind) {
    case 'identity': return Int32Array.from({ length: n }, (_, i) => clampTo(i));
    case 'shifted': return Int32Array.from({ length: n }, (_, i) => clampTo(i + c0));
    case 'half': return Int32Array.from({ length: n }, (_, i) => clampTo((i >> 1) + c0));
    case 'half-odd': return Int32Array.from({ length: n }, (_, i) => clampTo(((i + 1) >> 1) + c0));
    case 'edges': {
      const lo = Math.floor(rand() * 4);
      const hi = n - Math.floor(rand() * 4);
      return Int32Array.from({ length: n }, (_, i) => (i < lo || i >= hi ? -1 : clampTo(i + c0)));
    }
    case 'holes': return Int32Array.from({ length: n }, (_, i) => (rand() < 0.05 ? -1 : clampTo(i)));
    case 'random': return Int32Array.from({ length: n }, () => (rand() < 0.02 ? -1 : Math.floor(rand() * size)));
    case 'none': return new Int32Array(n).fill(-1);
  }
}

function randomBand(rand: Rand, type: SampleType, width: number, height: number, columns: LookupKind, rows: LookupKind): BandSamples {
  const nodata = type.startsWith('float') ? pick(rand, [null, 0, -9999, Number.NaN]) : pick(rand, [null, 0, type === 'uint16' ? 65535 : 7]);
  const windowWidth = width + Math.floor(rand() * 4);
  const windowHeight = height + Math.floor(rand() * 3);
  const values = new CONSTRUCTORS[type](windowWidth * windowHeight);
  for (let i = 0; i < values.length; i++) values[i] = sample(rand, type, nodata);
  // Rows: the same kinds, but 'none' and 'holes' rarely (they blank whole rows).
  return { values, windowWidth, nodata, columns: lookup(rand, columns, width, windowWidth), rows: lookup(rand, rows, height, windowHeight) };
}

const differenceRows = new DifferenceRows();

/** The JavaScript paths, then the same input through the WebAssembly kernel, against the reference. */
function assertIdentical(input: IndexTileInput, what: string): number {
  const want = referenceIndexTile(input);
  for (const [path, got] of [['js', computeIndexTile(input)], ['wasm', computeIndexTile({ ...input, differenceRows })]] as const) {
    assert.deepEqual(got.codes, want.codes, `${what} (${path}): codes`);
    assert.equal(got.stats.validPixels, want.stats.validPixels, `${what} (${path}): validPixels`);
    for (const key of ['min', 'max', 'sum'] as const) {
      assert.ok(Object.is(got.stats[key], want.stats[key]), `${what} (${path}): ${key} ${got.stats[key]} ≠ ${want.stats[key]}`);
    }
  }
  return want.stats.validPixels;
}

describe('computeIndexTile fast paths are bit-identical to the reference loop', () => {
  const OFFSETS = [0, -1000, -0.5, 2 ** 23, 1000];

  it('random tiles: every sample type pair, lookup kind, no-data, NaN and offset', () => {
    const rand = prng(2026);
    let valid = 0;
    for (let n = 0; n < 400; n++) {
      const width = 1 + Math.floor(rand() * 70);
      const height = 1 + Math.floor(rand() * 12);
      const typeA = pick(rand, TYPES);
      const typeB = rand() < 0.6 ? typeA : pick(rand, TYPES);
      const rowKind = (): LookupKind => pick(rand, ['identity', 'identity', 'shifted', 'half', 'half-odd', 'edges', 'random']);
      const input: IndexTileInput = {
        width,
        height,
        reflectanceOffset: pick(rand, OFFSETS),
        a: randomBand(rand, typeA, width, height, pick(rand, LOOKUPS), rowKind()),
        b: randomBand(rand, typeB, width, height, pick(rand, LOOKUPS), rowKind()),
      };
      valid += assertIdentical(input, `case ${n}: ${typeA}/${typeB} ${width}x${height} offset ${input.reflectanceOffset}`);
    }
    assert.ok(valid > 50_000, `only ${valid} valid pixels over all cases`);
  });

  for (const type of TYPES) {
    it(`${type}: NDVI-like (both bands on the grid) and NDSI-like (b at half resolution), offsets 0 and −1000`, () => {
      const rand = prng(type.length * 31);
      const width = 203;
      const height = 64;
      for (const offset of [0, -1000]) {
        for (const bKind of ['identity', 'half', 'half-odd'] as const) {
          const input: IndexTileInput = {
            width,
            height,
            reflectanceOffset: offset,
            a: randomBand(rand, type, width, height, 'identity', 'identity'),
            b: randomBand(rand, type, width, height, bKind, bKind === 'identity' ? 'identity' : 'half'),
          };
          assertIdentical(input, `${type} offset ${offset} b ${bKind}`);
        }
      }
    });
  }

  it('min and max keep the sign of zero as Math.min/Math.max do (−0 arises when a+b overflows float32)', () => {
    const big = Math.fround(3e38);
    const next = new Float32Array(new Uint32Array([new Uint32Array(Float32Array.of(big).buffer)[0]! + 1]).buffer)[0]!;
    // (big − next) / (big + next) = −ulp / ∞ = −0; (big − big) / ∞ = +0.
    for (const Ctor of [Float32Array, Float64Array]) {
      for (const [a, b] of [[[big, big], [next, big]], [[big, big], [big, next]]] as const) {
        const ids = Int32Array.of(0, 1);
        const band = (v: readonly number[]): BandSamples => ({ values: Ctor.from(v), windowWidth: 2, nodata: null, columns: ids, rows: Int32Array.of(0) });
        const input = { width: 2, height: 1, reflectanceOffset: 0, a: band(a), b: band(b) };
        const { stats } = referenceIndexTile(input);
        assert.ok(Object.is(stats.min, -0) && Object.is(stats.max, 0), 'the case does produce −0 and +0');
        assertIdentical(input, `${Ctor.name} a ${a.join(',')} b ${b.join(',')}`);
      }
    }
  });

  it('integer-exact gate: the largest offset kept exact and the first one past it agree with the reference', () => {
    const width = 64;
    for (const offset of [2 ** 22, -(2 ** 22), 2 ** 22 + 1, 2 ** 24, -(2 ** 24) + 65535]) {
      const values = Uint16Array.from({ length: width }, (_, i) => (i * 1021) % 65536);
      const other = Uint16Array.from({ length: width }, (_, i) => 65535 - ((i * 331) % 65536));
      const ids = Int32Array.from({ length: width }, (_, i) => i);
      const band = (v: Uint16Array): BandSamples => ({ values: v, windowWidth: width, nodata: 1, columns: ids, rows: Int32Array.of(0) });
      assertIdentical({ width, height: 1, reflectanceOffset: offset, a: band(values), b: band(other) }, `offset ${offset}`);
    }
  });

  it('rows longer than the WebAssembly kernel\'s chunk, of every length mod 4, signed and unsigned, keep their order', () => {
    const rand = prng(8192);
    for (const type of ['uint16', 'int16'] as const) {
      for (const width of [8192, 8195, 10980, 16385, 21962]) {
        for (const offset of [-1000, 0, 1000]) {
          const input: IndexTileInput = {
            width,
            height: 3,
            reflectanceOffset: offset,
            a: randomBand(rand, type, width, 3, 'identity', 'identity'),
            b: randomBand(rand, type, width, 3, pick(rand, ['identity', 'half'] as const), 'identity'),
          };
          assertIdentical(input, `${type} ${width}x3 offset ${offset}`);
        }
      }
    }
  });
});
