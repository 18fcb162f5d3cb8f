/**
 * What a master tells operators, on the real PostgreSQL with two real workers over gRPC: its
 * Prometheus metrics (scraped during and after a run; the counters agree with the request's row)
 * and the worker_stats table (the two workers' tiles_done add up to the request's tiles_total).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connectDatabase } from '../../master/db/database.js';
import { PostgresRequestStore } from '../../master/db/request-store.js';
import { packageRoot } from '../../shared/package-root.js';
import { processTile } from '../../worker/tile-processor.js';
import { startTestMaster, startWorkers } from '../support/cluster.js';
import { createTestDatabase } from '../support/test-database.js';
import { Turnstile } from '../support/turnstile.js';
import { waitFinished } from '../support/wait-finished.js';

const sample = join(packageRoot(), 'samples', 'L7_ETMs.tif');
const BANDS = { red: `${sample}#3`, nir: `${sample}#4` };

/** The samples of a text exposition: `name{labels}` → value (the master label left out). */
async function scrape(port: number): Promise<Map<string, number>> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `a sample line: ${line}`);
    const labels = (match[2] ?? '').split(',').filter((label) => label !== '' && !label.startsWith('master='));
    samples.set(labels.length > 0 ? `${match[1]}{${labels.join(',')}}` : match[1]!, Number(match[3]));
  }
  return samples;
}

const value = (samples: Map<string, number>, name: string): number => {
  const found = samples.get(name);
  assert.ok(found !== undefined, `${name} is exported`);
  return found;
};

test('metrics scraped during and after a run agree with the row; worker_stats add up to the tiles', async (t) => {
  const database = await createTestDatabase();
  const outputDir = await mkdtemp(join(tmpdir(), 'tessera-observe-'));
  const master = await startTestMaster({ databaseUrl: database.url, outputDir, pollIntervalMs: 100, metricsListen: '127.0.0.1:0', workerStatsMs: 200 });
  const gate = new Turnstile();
  const workers = startWorkers(2, master.grpcPort, 'observed', {
    process: async (task, sources, scratch) => {
      await gate.pass();
      return processTile(task, sources, scratch);
    },
  });
  const reader = connectDatabase({ url: database.url, maxConnections: 2, notifications: false });
  let stopped = false;
  t.after(async () => {
    gate.allow(Infinity);
    await Promise.all(workers.map((worker) => worker.stop({ graceful: false })));
    if (!stopped) await master.stop({ graceful: false, timeoutMs: 2_000 });
    await reader.close();
    await database.drop();
    await rm(outputDir, { recursive: true, force: true });
  });
  const port = master.metricsPort;
  assert.ok(port !== undefined && port > 0, 'METRICS_LISTEN serves');
  const notFound = await fetch(`http://127.0.0.1:${port}/elsewhere`);
  assert.equal(notFound.status, 404);
  await notFound.text();

  const waiting = await master.store.insert({ bands: BANDS, indices: ['ndvi'], stripRows: 16 });
  await master.events.next('request:planned', (p) => p.requestId === waiting);
  const progressed = master.events.next('request:progress', (p) => p.requestId === waiting && p.tilesDone === 5);
  gate.allow(5);
  await progressed;

  // During the run: five tiles in, the request running, the rest handed out or waiting.
  const during = await scrape(port);
  assert.equal(value(during, 'tessera_tiles_completed_total'), 5);
  assert.ok(value(during, 'tessera_tiles_leased_total') >= 5);
  assert.equal(value(during, 'tessera_requests{status="running"}'), 1);
  assert.equal(value(during, 'tessera_requests_pending'), 0);
  assert.equal(value(during, 'tessera_workers_connected'), 2);
  assert.equal(value(during, 'tessera_tile_duration_seconds_count'), 5);
  assert.equal((await master.store.get(waiting))?.status, 'running');

  gate.allow(Infinity);
  const row = await waitFinished(master.store, waiting);
  assert.equal(row.status, 'completed', row.error ?? '');
  const pending = await master.store.insert({ bands: BANDS, indices: ['ndvi'], stripRows: 16 });
  await master.store.cancel(pending); // a finished row of another status, counted too
  const after = await scrape(port);
  assert.equal(value(after, 'tessera_tiles_completed_total'), row.tilesTotal);
  assert.equal(value(after, 'tessera_tiles_completed_total'), row.tilesDone);
  assert.equal(value(after, 'tessera_tile_duration_seconds_count'), row.tilesTotal);
  const reissued = value(after, 'tessera_tiles_reissued_total');
  assert.equal(value(after, 'tessera_tiles_leased_total'), (row.tilesTotal ?? 0) + reissued, 'every hand-out beyond one per tile was a re-issue');
  assert.equal(value(after, 'tessera_tiles_rejected_total'), 0);
  assert.equal(value(after, 'tessera_tile_lease_expiries_total'), 0);
  assert.equal(value(after, 'tessera_requests{status="completed"}'), 1);
  assert.equal(value(after, 'tessera_requests{status="cancelled"}'), 1);
  assert.equal(value(after, 'tessera_requests{status="running"}'), 0);
  assert.equal(value(after, 'tessera_master_requests_total{outcome="completed"}'), 1);
  const manifest = (row.outputs as { manifest: string }).manifest;
  const { tiles } = JSON.parse(await readFile(manifest, 'utf8')) as { tiles: { payloadBytes: number; resultBytes: number } };
  assert.equal(value(after, 'tessera_source_bytes_total'), tiles.payloadBytes);
  assert.equal(value(after, 'tessera_result_bytes_total'), tiles.resultBytes);

  // worker_stats: written as the run went and once more as the master stops.
  await master.stop();
  stopped = true;
  const stats = await new PostgresRequestStore(reader).listWorkers(60_000);
  assert.deepEqual(stats.map((s) => s.workerId).sort(), ['observed-1', 'observed-2']);
  assert.ok(stats.every((s) => s.masterId === master.masterId && !s.busy));
  assert.equal(stats.reduce((sum, s) => sum + s.tilesDone, 0), row.tilesTotal, 'the workers\' tiles add up to the request\'s');
  for (const s of stats) {
    assert.equal(s.tilesDone, row.workerTiles?.[s.workerId] ?? 0, `${s.workerId} as in the row's worker_tiles`);
    assert.ok(s.computeMs > 0 && s.decodeMs > 0 && s.encodeMs > 0, 'the worker\'s own times');
    assert.ok(s.tilesPerMinute > 0 && s.tilesPerMinute <= s.tilesDone);
    assert.ok(s.firstSeen <= s.lastSeen);
  }
  assert.equal(stats.reduce((sum, s) => sum + s.bytesIn, 0), tiles.payloadBytes);
  assert.equal(stats.reduce((sum, s) => sum + s.bytesOut, 0), tiles.resultBytes);
});
