import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidRequestError } from '../../shared/errors.js';
import { planTiles, type PlannedTile, type ReferenceBlock } from '../../master/source/tile-plan.js';

/** Every pixel covered exactly once, tiles inside the grid, indices 0..n-1 in row-major order. */
function assertCovers(tiles: readonly PlannedTile[], width: number, height: number): void {
  const hits = new Uint8Array(width * height);
  tiles.forEach((tile, i) => {
    assert.equal(tile.index, i);
    assert.ok(tile.width > 0 && tile.height > 0, `tile ${i} is empty`);
    assert.ok(tile.left >= 0 && tile.top >= 0 && tile.left + tile.width <= width && tile.top + tile.height <= height, `tile ${i} leaves the grid`);
    for (let y = tile.top; y < tile.top + tile.height; y++) {
      for (let x = tile.left; x < tile.left + tile.width; x++) hits[y * width + x]! += 1;
    }
    if (i > 0) {
      const previous = tiles[i - 1]!;
      assert.ok(tile.top > previous.top || (tile.top === previous.top && tile.left > previous.left), 'row-major order');
    }
  });
  const bad = hits.findIndex((h) => h !== 1);
  assert.equal(bad, -1, bad >= 0 ? `pixel (${bad % width}, ${Math.floor(bad / width)}) covered ${hits[bad]} times` : '');
}

/** The distinct tile edges along one axis. */
function edges(tiles: readonly PlannedTile[], axis: 'x' | 'y'): number[] {
  const set = new Set<number>();
  for (const t of tiles) {
    if (axis === 'x') set.add(t.left).add(t.left + t.width);
    else set.add(t.top).add(t.top + t.height);
  }
  return [...set].sort((a, b) => a - b);
}

describe('planTiles', () => {
  it('covers a grid without gaps or overlaps, with smaller edge tiles', () => {
    const tiles = planTiles({ width: 1000, height: 700 }, 256);
    assertCovers(tiles, 1000, 700);
    assert.deepEqual(edges(tiles, 'x'), [0, 256, 512, 768, 1000]);
    assert.deepEqual(edges(tiles, 'y'), [0, 256, 512, 700]);
    assert.equal(tiles.length, 4 * 3);
    assert.deepEqual(tiles.at(-1), { index: 11, left: 768, top: 512, width: 232, height: 188 });
  });

  it('covers grids smaller than one tile', () => {
    const tiles = planTiles({ width: 10, height: 5 }, 512);
    assert.deepEqual(tiles, [{ index: 0, left: 0, top: 0, width: 10, height: 5 }]);
  });

  it('rounds a tile size at least the block size down to a multiple of it', () => {
    const block: ReferenceBlock = { width: 256, height: 256 };
    const tiles = planTiles({ width: 1100, height: 600 }, 700, block);
    assertCovers(tiles, 1100, 600);
    assert.deepEqual(edges(tiles, 'x'), [0, 512, 1024, 1100]);
    assert.deepEqual(edges(tiles, 'y'), [0, 512, 600]);
    for (const e of edges(tiles, 'x').slice(0, -1)) assert.equal(e % 256, 0);
  });

  it('keeps a tile size smaller than the block (no rounding)', () => {
    const tiles = planTiles({ width: 300, height: 300 }, 100, { width: 256, height: 256 });
    assertCovers(tiles, 300, 300);
    assert.deepEqual(edges(tiles, 'x'), [0, 100, 200, 300]);
  });

  it('anchors the tile grid on a block boundary when the output grid starts inside a block', () => {
    // The output grid's pixel (0, 0) is pixel (100, 300) of the reference band; blocks are 256².
    const tiles = planTiles({ width: 1000, height: 500 }, 512, { width: 256, height: 256, offsetX: 100, offsetY: 300 });
    assertCovers(tiles, 1000, 500);
    // Edges in reference-band pixels must be multiples of 512, except the grid's own ends.
    const xs = edges(tiles, 'x');
    const ys = edges(tiles, 'y');
    for (const e of xs.slice(1, -1)) assert.equal((e + 100) % 512, 0, `x edge ${e}`);
    for (const e of ys.slice(1, -1)) assert.equal((e + 300) % 512, 0, `y edge ${e}`);
    assert.deepEqual(xs, [0, 412, 924, 1000]);
    assert.deepEqual(ys, [0, 212, 500]);
  });

  it('handles rectangular blocks per axis', () => {
    const tiles = planTiles({ width: 600, height: 600 }, 300, { width: 256, height: 128 });
    assertCovers(tiles, 600, 600);
    assert.deepEqual(edges(tiles, 'x'), [0, 256, 512, 600]);
    assert.deepEqual(edges(tiles, 'y'), [0, 256, 512, 600]);
  });

  for (const bad of [0, -256, 15, 8193, 100.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    it(`rejects tile size ${bad}`, () => {
      assert.throws(() => planTiles({ width: 100, height: 100 }, bad), (error: unknown) => {
        assert.ok(error instanceof InvalidRequestError);
        assert.match(error.message, /tile size must be an integer from 16 to 8192/);
        return true;
      });
    });
  }

  it('accepts the limits 16 and 8192', () => {
    assertCovers(planTiles({ width: 40, height: 40 }, 16), 40, 40);
    assert.equal(planTiles({ width: 9000, height: 10 }, 8192).length, 2);
  });
});
