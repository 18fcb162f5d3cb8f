import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { colourRamp, colouriseCodes } from '../../master/output/colour-ramp.js';
import { indexToCode } from '../../shared/raster/index-math.js';
import { INDEX_NAMES, type IndexName } from '../../shared/types.js';

type Rgba = [number, number, number, number];

const entry = (lut: Uint8Array, code: number): Rgba => [...lut.subarray(code * 4, code * 4 + 4)] as Rgba;
const at = (index: IndexName, value: number): Rgba => entry(colourRamp(index), indexToCode(value));
/** Rec. 709 luma, 0..255. */
const luma = ([r, g, b]: Rgba): number => 0.2126 * r + 0.7152 * g + 0.0722 * b;

describe('colourRamp', () => {
  for (const index of INDEX_NAMES) {
    it(`${index}: 256 RGBA entries, code 0 transparent, every other code opaque`, () => {
      const lut = colourRamp(index);
      assert.equal(lut.length, 256 * 4);
      assert.deepEqual(entry(lut, 0), [0, 0, 0, 0]);
      for (let code = 1; code <= 255; code++) assert.equal(entry(lut, code)[3], 255, `code ${code}`);
    });

    it(`${index}: neighbouring codes change colour smoothly`, () => {
      const lut = colourRamp(index);
      for (let code = 2; code <= 255; code++) {
        const [r0, g0, b0] = entry(lut, code - 1);
        const [r1, g1, b1] = entry(lut, code);
        const step = Math.max(Math.abs(r1 - r0), Math.abs(g1 - g0), Math.abs(b1 - b0));
        assert.ok(step <= 12, `${index} code ${code}: step ${step}`);
      }
    });
  }

  it('ndvi is RdYlGn: red for low, yellowish at 0, green for high', () => {
    const [rLow, gLow] = at('ndvi', -1);
    assert.ok(rLow > 120 && rLow > 3 * gLow, `low ${at('ndvi', -1)}`);
    const [rMid, gMid, bMid] = at('ndvi', 0);
    assert.ok(rMid > 230 && gMid > 230 && bMid < rMid - 40, `middle ${at('ndvi', 0)}`);
    const [rHigh, gHigh, bHigh] = at('ndvi', 1);
    assert.ok(gHigh > rHigh + 50 && gHigh > bHigh, `high ${at('ndvi', 1)}`);
    const [rVeg, gVeg] = at('ndvi', 0.6);
    assert.ok(gVeg > rVeg, `dense vegetation ${at('ndvi', 0.6)}`);
  });

  it('ndsi: dark brown for low, light (white / light blue) above the 0.4 snow threshold', () => {
    const low = at('ndsi', -1);
    assert.ok(luma(low) < 70 && low[0] > low[2], `low ${low}`);
    for (let v = 0.42; v <= 1; v += 0.02) {
      const [r, g, b] = at('ndsi', v);
      assert.ok(r >= 195 && g >= 215 && b >= 240 && b >= r, `snow at ${v.toFixed(2)}: ${[r, g, b]}`);
    }
    assert.deepEqual(at('ndsi', 1), [255, 255, 255, 255]);
    // no snow below 0.2: clearly darker than the snow colours
    for (let v = -1; v <= 0.2; v += 0.05) assert.ok(luma(at('ndsi', v)) < 170, `not snow at ${v.toFixed(2)}`);
    // brightness rises from 0 to +1
    const lut = colourRamp('ndsi');
    for (let code = indexToCode(0.2) + 1; code <= 255; code++) {
      assert.ok(luma(entry(lut, code)) >= luma(entry(lut, code - 1)) - 0.5, `code ${code}`);
    }
  });

  it('returns a fresh table each call (callers may not corrupt each other)', () => {
    const first = colourRamp('ndvi');
    first.fill(7);
    assert.deepEqual(entry(colourRamp('ndvi'), 0), [0, 0, 0, 0]);
  });
});

describe('colouriseCodes', () => {
  it('maps every code through the table, RGBA interleaved', () => {
    const lut = colourRamp('ndvi');
    const codes = Uint8Array.from({ length: 600 }, (_, i) => (i * 37) % 256);
    const rgba = colouriseCodes(codes, lut);
    assert.equal(rgba.length, codes.length * 4);
    for (let i = 0; i < codes.length; i++) {
      assert.deepEqual([...rgba.subarray(i * 4, i * 4 + 4)], entry(lut, codes[i]!), `pixel ${i}`);
    }
  });

  it('makes no-data pixels transparent', () => {
    const rgba = colouriseCodes(Uint8Array.of(0, 200, 0), colourRamp('ndsi'));
    assert.equal(rgba[3], 0);
    assert.equal(rgba[7], 255);
    assert.equal(rgba[11], 0);
  });

  it('rejects a table of the wrong size', () => {
    assert.throws(() => colouriseCodes(Uint8Array.of(1), new Uint8Array(255 * 4)), /colour LUT/);
  });
});
