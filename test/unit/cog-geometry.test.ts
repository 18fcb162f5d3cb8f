/**
 * The COG's geometry (shared/cog/cog-geometry.ts), which the worker cuts by and the master checks and
 * assembles by: GDAL's number and sizes of overviews, and for any cut of the grid into strips, every
 * row of every tile at every level given by exactly one strip, padding included.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { COG_TILE, cogPiecesOf, levelSizes, overviewLevels, tileCounts } from '../../shared/cog/cog-geometry.js';

describe('COG geometry', () => {
  test('overviews until the smallest fits one 512-px tile, sizes rounded up as GDAL does', () => {
    assert.equal(overviewLevels(512, 512), 0);
    assert.equal(overviewLevels(349, 352), 0);
    assert.equal(overviewLevels(513, 10), 1);
    assert.equal(overviewLevels(10980, 10980), 5);
    assert.deepEqual(levelSizes(1300, 1100), [{ width: 1300, height: 1100 }, { width: 650, height: 550 }, { width: 325, height: 275 }]);
    assert.deepEqual(levelSizes(10980, 10980).at(-1), { width: 344, height: 344 });
  });

  const cuts: [string, number, number, number[]][] = [
    ['one strip', 1300, 1100, [1100]],
    ['256-row strips', 1300, 1100, [256, 256, 256, 256, 76]],
    ['6-row strips', 700, 530, [...Array.from({ length: 88 }, () => 6), 2]],
    ['1-row strips', 600, 520, Array.from({ length: 520 }, () => 1)],
    ['uneven strips', 2000, 1500, [1024, 3, 400, 73]],
    ['a Sentinel-2 tile', 10980, 10980, [...Array.from({ length: 10 }, () => 1024), 740]],
  ];
  for (const [name, width, height, rows] of cuts) {
    test(`${name}: every row of every tile at every level comes from exactly one strip`, () => {
      const covered = new Map<string, number[]>();
      let top = 0;
      for (const stripRows of rows) {
        for (const piece of cogPiecesOf({ width, height }, top, stripRows)) {
          assert.ok(piece.rows > 0 && piece.firstRow + piece.rows <= COG_TILE, JSON.stringify(piece));
          const key = `${piece.level}/${piece.tileRow}/${piece.tileColumn}`;
          const counts = covered.get(key) ?? new Array<number>(COG_TILE).fill(0);
          for (let r = piece.firstRow; r < piece.firstRow + piece.rows; r++) counts[r]! += 1;
          covered.set(key, counts);
        }
        top += stripRows;
      }
      assert.equal(top, height);
      let tiles = 0;
      levelSizes(width, height).forEach((size, level) => {
        const { across, down } = tileCounts(size);
        tiles += across * down;
        for (let row = 0; row < down; row++) {
          for (let column = 0; column < across; column++) {
            const counts = covered.get(`${level}/${row}/${column}`);
            assert.ok(counts?.every((n) => n === 1), `level ${level} tile (${column}, ${row}): rows covered ${JSON.stringify(counts?.filter((n) => n !== 1).length)} times wrong`);
          }
        }
      });
      assert.equal(covered.size, tiles);
    });
  }

  test('a strip lists its pieces by level, then tile row, then tile column', () => {
    const pieces = cogPiecesOf({ width: 1300, height: 1100 }, 256, 512);
    assert.deepEqual(pieces.slice(0, 6).map((p) => [p.level, p.tileRow, p.tileColumn, p.firstRow, p.rows]), [
      [0, 0, 0, 256, 256], [0, 0, 1, 256, 256], [0, 0, 2, 256, 256],
      [0, 1, 0, 0, 256], [0, 1, 1, 0, 256], [0, 1, 2, 0, 256],
    ]);
    assert.deepEqual(pieces.slice(6).map((p) => [p.level, p.tileRow, p.tileColumn, p.firstRow, p.rows]), [[1, 0, 0, 128, 256], [1, 0, 1, 128, 256], [2, 0, 0, 64, 128]]);
  });
});
