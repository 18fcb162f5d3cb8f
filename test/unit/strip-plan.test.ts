import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidRequestError } from '../../shared/errors.js';
import { planStrips, stripRowsFor, type PlannedStrip } from '../../master/source/strip-plan.js';

/** Every row covered exactly once, top to bottom, indices 0..n-1. */
function assertCovers(strips: readonly PlannedStrip[], height: number): void {
  let next = 0;
  strips.forEach((strip, i) => {
    assert.equal(strip.index, i);
    assert.equal(strip.top, next, `strip ${i} starts where the previous ended`);
    assert.ok(strip.rows > 0, `strip ${i} is empty`);
    next = strip.top + strip.rows;
  });
  assert.equal(next, height);
}

describe('planStrips', () => {
  it('sizes strips by the pixel budget when the request sets no rows', () => {
    const strips = planStrips({ width: 1000, height: 700 }, { pixelBudget: 256_000 });
    assertCovers(strips, 700);
    assert.deepEqual(strips.map((s) => s.rows), [256, 256, 188]);
  });

  it('a full Sentinel-2 tile: 1024-row strips on 1024-px blocks (11.2 MP of a 16 MP budget), the last one short', () => {
    const strips = planStrips({ width: 10_980, height: 10_980 }, { pixelBudget: 16_000_000, reference: { height: 1024 } });
    assertCovers(strips, 10_980);
    assert.equal(strips.length, 11);
    assert.ok(strips.slice(0, -1).every((s) => s.rows === 1024 && s.top % 1024 === 0));
    assert.equal(strips.at(-1)!.rows, 10_980 - 10 * 1024);
  });

  it('a scene twice as wide keeps the strips at the same pixel count: half a block each, never more than the budget', () => {
    const strips = planStrips({ width: 21_960, height: 10_980 }, { pixelBudget: 16_000_000, reference: { height: 1024 } });
    assertCovers(strips, 10_980);
    assert.ok(strips.every((s) => s.rows <= 512 && 21_960 * s.rows <= 16_000_000));
    assert.ok(strips.every((s) => s.top % 512 === 0), 'an exact number of strips per block row');
  });

  it('rounds requested rows of at least a block down to whole blocks, fewer to a divisor of the block', () => {
    assert.equal(stripRowsFor(100, { pixelBudget: 1, rows: 700, reference: { height: 256 } }), 512);
    assert.equal(stripRowsFor(100, { pixelBudget: 1, rows: 256, reference: { height: 256 } }), 256);
    assert.equal(stripRowsFor(100, { pixelBudget: 1, rows: 100, reference: { height: 256 } }), 64);
    assert.equal(stripRowsFor(100, { pixelBudget: 1, rows: 5, reference: { height: 3 } }), 3);
    assert.equal(stripRowsFor(100, { pixelBudget: 1, rows: 2, reference: { height: 3 } }), 1);
    assert.equal(stripRowsFor(100, { pixelBudget: 1, rows: 100 }), 100, 'no blocks: as asked');
  });

  it('anchors strip edges on block rows when the grid starts inside a block', () => {
    const strips = planStrips({ width: 50, height: 600 }, { pixelBudget: 1, rows: 256, reference: { height: 256, offsetY: 5 } });
    assertCovers(strips, 600);
    assert.deepEqual(strips.map((s) => s.rows), [251, 256, 93]);
    for (const strip of strips.slice(1)) assert.equal((strip.top + 5) % 256, 0);
  });

  it('covers grids smaller than one strip', () => {
    assert.deepEqual(planStrips({ width: 10, height: 5 }, { pixelBudget: 16_000_000 }), [{ index: 0, top: 0, rows: 5 }]);
  });

  it('refuses row counts that are not whole numbers from 1 to 65536', () => {
    for (const rows of [0, -1, 1.5, 65_537, Number.NaN]) {
      assert.throws(() => planStrips({ width: 10, height: 10 }, { pixelBudget: 1, rows }), (e: unknown) => e instanceof InvalidRequestError && /strip_rows must be a whole number of rows from 1 to 65536/.test(e.message));
    }
  });
});
