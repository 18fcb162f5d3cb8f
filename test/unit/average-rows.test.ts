/**
 * The WebAssembly Average filter (average-rows.ts) writes exactly the bytes of the JavaScript
 * filterRows(…, 'average') it replaces in encodeStripPng: widths around its 16-byte steps, a
 * full Sentinel-2 width, one row and many, random and flat codes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { averageFilterRows } from '../../shared/png/average-rows.js';
import { filterRows } from '../../shared/png/scanline-filter.js';
import { prng } from '../support/prng.js';

function randomCodes(rand: () => number, n: number, flat: boolean): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (flat ? (i >> 7) % 256 : Math.floor(rand() * 256)));
}

describe('averageFilterRows', () => {
  it('equals filterRows(average) for widths 1..70, 10980 and 21961, 1 to 9 rows', () => {
    const rand = prng(3);
    const widths = [...Array.from({ length: 70 }, (_, i) => i + 1), 10980, 21961];
    for (const width of widths) {
      for (const rows of [1, 2, 9]) {
        for (const flat of [false, true]) {
          const codes = randomCodes(rand, width * rows, flat);
          const out = new Uint8Array(rows * (width + 1)).fill(0xaa);
          averageFilterRows(codes, width, rows, out);
          assert.deepEqual(out, new Uint8Array(filterRows(codes, width, rows, 'average')), `${width}×${rows}${flat ? ' flat' : ''}`);
        }
      }
    }
  });

  it('treats the pixel left of each row as 0 whatever came before in its memory', () => {
    const width = 33;
    const codes = new Uint8Array(width * 4).fill(255);
    const out = new Uint8Array(4 * (width + 1));
    averageFilterRows(codes, width, 4, out);
    assert.deepEqual(out, new Uint8Array(filterRows(codes, width, 4, 'average')));
    for (let y = 0; y < 4; y++) assert.equal(out[y * (width + 1) + 1], y === 0 ? 255 : 255 - (255 >> 1), `row ${y}'s first byte`);
  });
});
