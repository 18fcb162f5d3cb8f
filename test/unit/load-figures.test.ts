/** The load benchmark's figures (bench/load-figures.ts), on made-up rows. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { distribution, loadFigures, quantile, rssAt, rssSlope, type RequestTimes } from '../../bench/load-figures.js';

const at = (s: number): Date => new Date(Date.UTC(2026, 11, 2, 0, 0, s));

function row(id: number, status: string, created: number, started: number | null, finished: number | null, tiles = 10, attempts = 1): RequestTimes {
  return {
    id: String(id),
    status,
    tilesTotal: tiles,
    tilesDone: status === 'completed' ? tiles : 0,
    attempts,
    error: status === 'failed' ? 'boom' : null,
    createdAt: at(created),
    startedAt: started === null ? null : at(started),
    finishedAt: finished === null ? null : at(finished),
    workerTiles: status === 'completed' ? { a: tiles - 4, b: 4 } : null,
  };
}

test('quantile is nearest-rank; distribution gives median, p95, max', () => {
  const values = Array.from({ length: 20 }, (_, i) => i + 1); // 1 … 20
  assert.equal(quantile(values, 0.5), 10);
  assert.equal(quantile(values, 0.95), 19);
  assert.equal(quantile(values, 1), 20);
  assert.equal(quantile([7], 0.95), 7);
  assert.ok(Number.isNaN(quantile([], 0.5)));
  assert.deepEqual(distribution([3, 1, 2]), { count: 3, median: 2, p95: 3, max: 3 });
});

test('load figures: latency from insert, run time from claim, wall to the last completion, problems listed', () => {
  const rows = [
    row(1, 'completed', 0, 0, 2),
    row(2, 'completed', 0, 2, 5, 10, 2),
    row(3, 'completed', 0, 5, 10),
    row(4, 'failed', 0, 10, 11),
    row(5, 'running', 0, 11, null),
    row(6, 'pending', 0, null, null),
  ];
  const figures = loadFigures(rows);
  assert.equal(figures.requests, 6);
  assert.equal(figures.completed, 3);
  assert.deepEqual(figures.failed.map((r) => r.id), ['4']);
  assert.deepEqual(figures.unfinished.map((r) => r.id), ['5', '6']);
  assert.equal(figures.reclaimed, 1);
  assert.equal(figures.tiles, 30);
  assert.equal(figures.wallMs, 10_000);
  assert.equal(figures.tilesPerSecond, 3);
  assert.deepEqual(figures.latencyMs, { count: 3, median: 5_000, p95: 10_000, max: 10_000 });
  assert.deepEqual(figures.serviceMs, { count: 3, median: 3_000, p95: 5_000, max: 5_000 });
  // Claimed at 0, 2, 5, 10, 11; finished at 2, 5, 10, 11 (the running one has not): no idle time.
  assert.deepEqual(figures.handoverMs, { count: 3, median: 0, p95: 0, max: 0 });
  assert.deepEqual(figures.tilesPerWorker, { count: 2, median: 12, p95: 18, max: 18 });
});

test('RSS against requests finished: the slope from a point on, and the points at marks', () => {
  const points = [0, 1, 2, 3, 4].map((finished) => ({ finished, rssBytes: finished < 2 ? 100 : 200 + 10 * finished }));
  assert.equal(rssSlope(points, 2), 10);
  assert.ok(Number.isNaN(rssSlope(points, 4)));
  assert.deepEqual(rssAt(points, [0, 3, 9]).map((p) => p.finished), [0, 3]);
});
