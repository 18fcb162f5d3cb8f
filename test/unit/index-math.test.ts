import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  codeToIndexValue,
  computeIndexTile,
  indexToCode,
  mergeIndexStats,
  type BandSamples,
} from '../../shared/raster/index-math.js';
import type { SampleArray } from '../../shared/types.js';
import { prng } from '../support/prng.js';


const identity = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

/** A band whose window is exactly the tile (identity lookups). */
function band(values: SampleArray, width: number, nodata: number | null = null): BandSamples {
  return { values, windowWidth: width, nodata, columns: identity(width), rows: identity(values.length / width) };
}

/** One pixel through computeIndexTile. */
function pixel(a: number, b: number, offset = 0, nodataA: number | null = null, nodataB: number | null = null) {
  const tile = computeIndexTile({
    width: 1,
    height: 1,
    reflectanceOffset: offset,
    a: band(Float64Array.of(a), 1, nodataA),
    b: band(Float64Array.of(b), 1, nodataB),
  });
  return { code: tile.codes[0]!, stats: tile.stats };
}

describe('indexToCode', () => {
  it('maps the endpoints and the middle as specified', () => {
    assert.equal(indexToCode(-1), 1);
    assert.equal(indexToCode(0), 128);
    assert.equal(indexToCode(1), 255);
    // 1 + round(0.5 * 127 = 63.5) = 65; 1 + round(1.5 * 127 = 190.5) = 192
    assert.equal(indexToCode(-0.5), 65);
    assert.equal(indexToCode(0.5), 192);
  });

  it('clamps out-of-range values and never returns 0 for a number', () => {
    assert.equal(indexToCode(-3), 1);
    assert.equal(indexToCode(42), 255);
    assert.equal(indexToCode(Number.NEGATIVE_INFINITY), 1);
    assert.equal(indexToCode(Number.POSITIVE_INFINITY), 255);
    for (let v = -1.2; v <= 1.2; v += 0.001) {
      const code = indexToCode(v);
      assert.ok(code >= 1 && code <= 255, `code ${code} for ${v}`);
    }
  });

  it('maps NaN to the no-data code', () => {
    assert.equal(indexToCode(Number.NaN), 0);
  });

  it('codeToIndexValue is the inverse at bin centres', () => {
    for (let code = 1; code <= 255; code++) assert.equal(indexToCode(codeToIndexValue(code)), code);
    assert.ok(Number.isNaN(codeToIndexValue(0)));
  });
});

describe('computeIndexTile: per-pixel rules', () => {
  it('computes (a − b) / (a + b) on reflectance', () => {
    // ρa = 0.3, ρb = 0.1 → 0.5 → code 192
    assert.equal(pixel(3000, 1000).code, 192);
    // equal bands → 0 → 128
    assert.equal(pixel(2000, 2000).code, 128);
  });

  it('is exact where the index is representable: small DNs whose ratio is 0.5 give code 192, not 191', () => {
    // (90 − 30) / (90 + 30) = 0.5 exactly → (0.5 + 1) × 127 = 190.5 → 191 → code 192. Dividing each DN by
    // 10000 in float32 first would give 0.49999997 and code 191 (seen on the Landsat sample).
    assert.equal(pixel(90, 30).code, 192);
    assert.equal(pixel(90, 30).stats.min, 0.5);
    assert.equal(pixel(30, 90).code, 1 + Math.round(0.5 * 127));
  });

  it('the reflectance offset changes the value', () => {
    // offset 0: (0.3 − 0.1) / 0.4 = 0.5; offset −1000: (0.2 − 0) / 0.2 = 1
    assert.equal(pixel(3000, 1000, 0).code, 192);
    assert.equal(pixel(3000, 1000, -1000).code, 255);
    assert.ok(Math.abs(pixel(3000, 1000, -1000).stats.min - 1) < 1e-6);
  });

  it('without a declared nodata, 0 is no-data (Sentinel-2 convention)', () => {
    assert.equal(pixel(0, 1000).code, 0);
    assert.equal(pixel(1000, 0).code, 0);
    assert.equal(pixel(0, 1000).stats.validPixels, 0);
  });

  it('with a declared (GDAL) nodata, that value is no-data and 0 is ordinary data', () => {
    assert.equal(pixel(65535, 1000, 0, 65535, 65535).code, 0);
    assert.equal(pixel(1000, 65535, 0, 65535, 65535).code, 0);
    // 0 is now a real sample: (0 − 0.1) / (0 + 0.1) = −1 → code 1
    assert.equal(pixel(0, 1000, 0, 65535, 65535).code, 1);
    // each band uses its own nodata
    assert.equal(pixel(7, 1000, 0, 7, null).code, 0);
    assert.notEqual(pixel(1000, 7, 0, 7, null).code, 0);
  });

  it('a NaN nodata on float bands marks NaN samples as no-data', () => {
    const tile = computeIndexTile({
      width: 2,
      height: 1,
      reflectanceOffset: 0,
      a: band(Float32Array.of(Number.NaN, 3000), 2, Number.NaN),
      b: band(Float32Array.of(1000, 1000), 2, Number.NaN),
    });
    assert.deepEqual([...tile.codes], [0, 192]);
  });

  it('a float32 band matches a nodata given as a double (as GDAL does)', () => {
    const nodata = -3.4028234663852886e38; // float32 lowest, as GDAL_NODATA writes it
    const tile = computeIndexTile({
      width: 2,
      height: 1,
      reflectanceOffset: 0,
      a: band(Float32Array.of(nodata, 3000), 2, nodata),
      b: band(Float32Array.of(1000, 1000), 2, null),
    });
    assert.deepEqual([...tile.codes], [0, 192]);
  });

  it('a denominator ≤ 0 is no-data', () => {
    // offset −1000: ρa = ρb = −0.05 → denominator −0.1
    assert.equal(pixel(500, 500, -1000).code, 0);
    // ρa = 0.05, ρb = −0.05 → denominator 0
    assert.equal(pixel(1500, 500, -1000).code, 0);
    // ρa = 0.1, ρb = −0.05 → denominator 0.05 > 0: value 3, clamped to code 255
    assert.equal(pixel(2000, 500, -1000).code, 255);
    assert.ok(Math.abs(pixel(2000, 500, -1000).stats.max - 3) < 1e-5);
  });

  it('a −1 lookup (outside the band) is no-data; lookups pick the right source pixel', () => {
    // a: 3x2 window; b: a 2x1 window at half resolution (nearest neighbour resolved by the master)
    const a: BandSamples = {
      values: Uint16Array.of(1000, 2000, 3000, 4000, 5000, 6000),
      windowWidth: 3,
      nodata: null,
      columns: Int32Array.of(0, 1, 2, -1),
      rows: Int32Array.of(1, 0),
    };
    const b: BandSamples = {
      values: Uint16Array.of(1000, 3000),
      windowWidth: 2,
      nodata: null,
      columns: Int32Array.of(0, 0, 1, 1),
      rows: Int32Array.of(0, -1),
    };
    const tile = computeIndexTile({ width: 4, height: 2, reflectanceOffset: 0, a, b });
    const expected = [
      indexToCode((4000 - 1000) / 5000),
      indexToCode((5000 - 1000) / 6000),
      indexToCode((6000 - 3000) / 9000),
      0, // column outside a
      0, 0, 0, 0, // row outside b
    ];
    assert.deepEqual([...tile.codes], expected);
    assert.equal(tile.stats.validPixels, 3);
  });

  it('rejects lookups that do not fit the tile or the window', () => {
    const ok = band(Uint16Array.of(1, 2, 3, 4), 2);
    assert.throws(
      () => computeIndexTile({ width: 3, height: 2, reflectanceOffset: 0, a: ok, b: ok }),
      /lookups are 2x2, tile is 3x2/,
    );
    const bad: BandSamples = { ...ok, columns: Int32Array.of(0, 2) };
    assert.throws(() => computeIndexTile({ width: 2, height: 2, reflectanceOffset: 0, a: bad, b: ok }), /column 2/);
    const badRow: BandSamples = { ...ok, rows: Int32Array.of(0, 5) };
    assert.throws(() => computeIndexTile({ width: 2, height: 2, reflectanceOffset: 0, a: ok, b: badRow }), /row 5/);
  });
});

describe('computeIndexTile: statistics', () => {
  it('reports validPixels, min, max and sum of the index values', () => {
    const a = Uint16Array.of(3000, 2000, 0, 1000);
    const b = Uint16Array.of(1000, 2000, 500, 3000);
    const tile = computeIndexTile({ width: 2, height: 2, reflectanceOffset: 0, a: band(a, 2), b: band(b, 2) });
    const values = [0.5, 0, -0.5]; // pixel 2 has a 0 sample: no-data
    assert.equal(tile.stats.validPixels, 3);
    assert.ok(Math.abs(tile.stats.min - Math.min(...values)) < 1e-6);
    assert.ok(Math.abs(tile.stats.max - Math.max(...values)) < 1e-6);
    assert.ok(Math.abs(tile.stats.sum - values.reduce((s, v) => s + v, 0)) < 1e-6);
  });

  it('an all-no-data tile returns zeros', () => {
    const tile = computeIndexTile({
      width: 2,
      height: 1,
      reflectanceOffset: 0,
      a: band(Uint16Array.of(0, 0), 2),
      b: band(Uint16Array.of(5, 5), 2),
    });
    assert.deepEqual(tile.stats, { validPixels: 0, min: 0, max: 0, sum: 0 });
    assert.deepEqual([...tile.codes], [0, 0]);
  });

  it('mergeIndexStats ignores empty stats and combines the rest', () => {
    const empty = { validPixels: 0, min: 0, max: 0, sum: 0 };
    const x = { validPixels: 2, min: 0.2, max: 0.4, sum: 0.6 };
    const y = { validPixels: 3, min: -0.5, max: 0.1, sum: -0.3 };
    assert.deepEqual(mergeIndexStats(empty, x), x);
    assert.deepEqual(mergeIndexStats(x, empty), x);
    assert.deepEqual(mergeIndexStats(x, y), { validPixels: 5, min: -0.5, max: 0.4, sum: 0.6 + -0.3 });
  });
});

describe('computeIndexTile vs an independent float64 implementation', () => {
  /** Straightforward reference: float64 throughout, Math.round, no float32 rounding. */
  function reference(
    width: number,
    height: number,
    offset: number,
    bands: readonly [BandSamples, BandSamples],
  ): { codes: number[]; values: number[]; bounds: number[] } {
    const codes: number[] = [];
    const values: number[] = [];
    /** Per value: a float32 error bound, 8·u·(|ρa| + |ρb|)·(1 + |v|) / |ρa + ρb| with u = 2^-24. */
    const bounds: number[] = [];
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const samples: number[] = [];
        for (const bnd of bands) {
          const col = bnd.columns[x]!;
          const row = bnd.rows[y]!;
          if (col === -1 || row === -1) break;
          const dn = bnd.values[row * bnd.windowWidth + col]!;
          if (dn === (bnd.nodata === null ? 0 : bnd.nodata)) break;
          samples.push(dn);
        }
        if (samples.length < 2) {
          codes.push(0);
          continue;
        }
        const ra = (samples[0]! + offset) / 10000;
        const rb = (samples[1]! + offset) / 10000;
        if (ra + rb <= 0) {
          codes.push(0);
          continue;
        }
        const v = (ra - rb) / (ra + rb);
        values.push(v);
        bounds.push((8 * 2 ** -24 * (Math.abs(ra) + Math.abs(rb)) * (1 + Math.abs(v))) / (ra + rb));
        codes.push(1 + Math.round((Math.max(-1, Math.min(1, v)) + 1) * 127));
      }
    }
    return { codes, values, bounds };
  }

  function randomBand(rand: () => number, width: number, height: number, nodata: number | null): BandSamples {
    const ww = width + 3;
    const wh = height + 2;
    const values = new Uint16Array(ww * wh);
    for (let i = 0; i < values.length; i++) {
      const r = rand();
      values[i] = r < 0.02 ? 0 : r < 0.04 ? 65535 : Math.floor(rand() * 12000);
    }
    const lookup = (n: number, size: number): Int32Array =>
      Int32Array.from({ length: n }, () => (rand() < 0.01 ? -1 : Math.floor(rand() * size)));
    return { values, windowWidth: ww, nodata, columns: lookup(width, ww), rows: lookup(height, wh) };
  }

  for (const [seed, offset, nodata] of [
    [1, 0, null],
    [2, -1000, null],
    [3, -1000, 65535],
    [4, 0, 65535],
  ] as const) {
    it(`seed ${seed}, offset ${offset}, nodata ${nodata}: all within ±1 code, ≥ 99.99% exact`, () => {
      const rand = prng(seed);
      const width = 256;
      const height = 200;
      const a = randomBand(rand, width, height, nodata);
      const b = randomBand(rand, width, height, nodata);
      const tile = computeIndexTile({ width, height, reflectanceOffset: offset, a, b });
      const ref = reference(width, height, offset, [a, b]);
      let exact = 0;
      for (let i = 0; i < ref.codes.length; i++) {
        const got = tile.codes[i]!;
        const want = ref.codes[i]!;
        if ((got === 0) !== (want === 0)) {
          assert.fail(`pixel ${i}: no-data mismatch (got ${got}, want ${want})`);
        }
        assert.ok(Math.abs(got - want) <= 1, `pixel ${i}: got ${got}, want ${want}`);
        if (got === want) exact++;
      }
      assert.ok(exact / ref.codes.length >= 0.9999, `only ${exact} of ${ref.codes.length} exact`);
      assert.equal(tile.stats.validPixels, ref.values.length);
      assert.ok(ref.values.length > width * height * 0.5, 'test data should be mostly valid');
      // float32 vs float64: with a negative offset a tiny denominator amplifies float32 rounding, so compare
      // within the propagated float32 error bound of the pixels involved.
      const close = (got: number, want: number, bound: number, what: string): void =>
        assert.ok(Math.abs(got - want) <= bound, `${what}: got ${got}, want ${want} ± ${bound}`);
      const iMin = ref.values.indexOf(Math.min(...ref.values));
      const iMax = ref.values.indexOf(Math.max(...ref.values));
      close(tile.stats.min, ref.values[iMin]!, ref.bounds[iMin]!, 'min');
      close(tile.stats.max, ref.values[iMax]!, ref.bounds[iMax]!, 'max');
      const refSum = ref.values.reduce((s, v) => s + v, 0);
      close(tile.stats.sum, refSum, ref.bounds.reduce((s, e) => s + e, 0) + 1e-9 * ref.values.length, 'sum');
    });
  }
});

