/**
 * The observers of a master's events on their own (no gRPC, no database): the worker statistics
 * (busy while a lease is held, tiles per minute over a sliding minute, the worker's times and bytes,
 * leases dropped when their request ends) and the metrics (counters, durations, connected workers).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MasterEvents } from '../../master/master-events.js';
import { MasterMetrics } from '../../master/observe/master-metrics.js';
import { WorkerStatsRecorder } from '../../master/observe/worker-stats-recorder.js';
import { zeroByStatus, type WorkerStatsRow } from '../../master/store/request-store.js';
import { createLogger } from '../../shared/logger.js';

const log = createLogger('test', 'silent');

function recorder(): { events: MasterEvents; saved: WorkerStatsRow[][]; clock: { now: number }; stats: WorkerStatsRecorder } {
  const events = new MasterEvents();
  const saved: WorkerStatsRow[][] = [];
  const clock = { now: Date.parse('2026-12-02T01:00:00Z') };
  const stats = new WorkerStatsRecorder({
    events,
    store: { saveWorkerStats: async (rows) => void saved.push(rows.map((row) => ({ ...row }))) },
    masterId: 'master-a',
    everyMs: 60_000,
    log,
    now: () => clock.now,
  });
  stats.start();
  return { events, saved, clock, stats };
}

const byWorker = (rows: readonly WorkerStatsRow[]): Record<string, WorkerStatsRow> => Object.fromEntries(rows.map((row) => [row.workerId, row]));

test('worker statistics: busy while holding a lease, totals from results, a sliding minute of tiles', async (t) => {
  const { events, saved, clock, stats } = recorder();
  t.after(() => stats.stop());
  const start = clock.now;
  events.emit('worker:attending', { workerId: 'w1' });
  events.emit('worker:polling', { workerId: 'w2' });
  events.emit('tile:leased', { taskId: '7/1/0', workerId: 'w1', attempt: 1 });
  events.emit('tile:streamed', { taskId: '7/1/0', workerId: 'w1', attempt: 1, bytes: 1000 });
  let rows = byWorker(stats.rows());
  assert.equal(rows['w1']?.busy, true);
  assert.equal(rows['w2']?.busy, false);
  assert.equal(rows['w1']?.bytesIn, 1000);

  clock.now += 10_000;
  events.emit('tile:done', { taskId: '7/1/0', workerId: 'w1', attempt: 1, resultBytes: 300, timings: { decodeMs: 1, computeMs: 2, encodeMs: 3 } });
  events.emit('tile:leased', { taskId: '7/1/1', workerId: 'w1', attempt: 1 });
  clock.now += 40_000;
  events.emit('tile:done', { taskId: '7/1/1', workerId: 'w1', attempt: 1, resultBytes: 200, timings: { decodeMs: 10, computeMs: 20, encodeMs: 30 } });
  rows = byWorker(stats.rows());
  assert.deepEqual(
    { ...rows['w1'] },
    {
      workerId: 'w1',
      masterId: 'master-a',
      busy: false,
      tilesDone: 2,
      tilesPerMinute: 2,
      decodeMs: 11,
      computeMs: 22,
      encodeMs: 33,
      bytesIn: 1000,
      bytesOut: 500,
      firstSeen: new Date(start),
      lastSeen: new Date(clock.now),
    },
  );
  clock.now += 30_000; // the first tile is now more than a minute old
  assert.equal(byWorker(stats.rows())['w1']?.tilesPerMinute, 1);

  // Leases end with the tile (re-queued, expired, rejected), the worker, or the request.
  events.emit('tile:leased', { taskId: '7/1/2', workerId: 'w2', attempt: 1 });
  events.emit('tile:requeued', { taskId: '7/1/2', attempt: 1, reason: 'worker error' });
  events.emit('tile:leased', { taskId: '7/1/2', workerId: 'w1', attempt: 2 });
  events.emit('tile:lease-expired', { taskId: '7/1/2', workerId: 'w1', attempt: 2 });
  events.emit('tile:leased', { taskId: '7/1/3', workerId: 'w2', attempt: 1 });
  events.emit('tile:rejected', { taskId: '7/1/3', workerId: 'w2', attempt: 1, reason: 'bad' });
  events.emit('tile:leased', { taskId: '8/1/0', workerId: 'w1', attempt: 1 });
  events.emit('worker:gone', { workerId: 'w1', released: 1 });
  events.emit('tile:leased', { taskId: '9/2/0', workerId: 'w2', attempt: 1 });
  assert.deepEqual(stats.rows().map((row) => [row.workerId, row.busy]), [['w1', false], ['w2', true]]);
  assert.equal(saved.length, 0, 'nothing written before a request ends or the interval passes');
  events.emit('request:cancelled', { requestId: '9' });
  await stats.flush();
  assert.deepEqual(saved.at(-1)?.map((row) => [row.workerId, row.busy]), [['w1', false], ['w2', false]], 'a request\'s end drops its leases and writes');
});

test('worker statistics: a failed write is logged and made again in full next time', async () => {
  const events = new MasterEvents();
  let fail = true;
  const saved: WorkerStatsRow[][] = [];
  const stats = new WorkerStatsRecorder({
    events,
    store: {
      saveWorkerStats: async (rows) => {
        if (fail) throw new Error('database away');
        saved.push([...rows]);
      },
    },
    masterId: 'm',
    everyMs: 60_000,
    log,
  });
  stats.start();
  events.emit('tile:done', { taskId: '1/1/0', workerId: 'w', attempt: 1 });
  await stats.flush();
  fail = false;
  events.emit('tile:done', { taskId: '1/1/1', workerId: 'w', attempt: 1 });
  await stats.stop();
  assert.equal(saved.length, 1);
  assert.equal(saved[0]?.[0]?.tilesDone, 2);
});

test('metrics count what the events say; tile durations run from lease to result; workers connected', async () => {
  const events = new MasterEvents();
  let now = 0;
  const counts = { ...zeroByStatus(), pending: 3, running: 1 };
  const metrics = new MasterMetrics({ events, store: { countByStatus: async () => counts }, masterId: 'm', now: () => now });
  events.emit('worker:attending', { workerId: 'w1' });
  events.emit('worker:attending', { workerId: 'w2' });
  events.emit('worker:attending', { workerId: 'w2' }); // a second Attend call of the same worker
  events.emit('worker:gone', { workerId: 'w2', released: 0 });
  events.emit('tile:leased', { taskId: '1/1/0', workerId: 'w1', attempt: 1 });
  now = 1_500;
  events.emit('tile:lease-expired', { taskId: '1/1/0', workerId: 'w1', attempt: 1 });
  events.emit('tile:requeued', { taskId: '1/1/0', attempt: 1, reason: 'lease expired' });
  events.emit('tile:leased', { taskId: '1/1/0', workerId: 'w2', attempt: 2 });
  now = 1_800;
  events.emit('tile:rejected', { taskId: '1/1/0', workerId: 'w2', attempt: 2, reason: 'bad png' });
  events.emit('tile:streamed', { taskId: '1/1/0', workerId: 'w2', attempt: 2, bytes: 4096 });
  events.emit('tile:done', { taskId: '1/1/0', workerId: 'w2', attempt: 2, resultBytes: 512 });
  events.emit('request:completed', { requestId: '1', tilesDone: 1, ms: 2000 });
  const text = await metrics.text();
  const sample = (name: string): number => {
    const line = text.split('\n').find((l) => l.startsWith(name.includes('{') ? name.replace('}', ',') : `${name}{`) || l.startsWith(`${name} `));
    assert.ok(line, `${name} in\n${text}`);
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  assert.equal(sample('tessera_tiles_leased_total'), 2);
  assert.equal(sample('tessera_tiles_completed_total'), 1);
  assert.equal(sample('tessera_tiles_reissued_total'), 1);
  assert.equal(sample('tessera_tiles_rejected_total'), 1);
  assert.equal(sample('tessera_tile_lease_expiries_total'), 1);
  assert.equal(sample('tessera_source_bytes_total'), 4096);
  assert.equal(sample('tessera_result_bytes_total'), 512);
  assert.equal(sample('tessera_workers_connected'), 2);
  assert.equal(sample('tessera_tile_duration_seconds_count'), 1);
  assert.equal(sample('tessera_tile_duration_seconds_sum'), 0.3, 'from the accepted attempt\'s lease');
  assert.equal(sample('tessera_requests{status="pending"}'), 3);
  assert.equal(sample('tessera_requests_pending'), 3);
  assert.equal(sample('tessera_master_requests_total{outcome="completed"}'), 1);
  assert.match(text, /master="m"/);
  metrics.stop();
});
