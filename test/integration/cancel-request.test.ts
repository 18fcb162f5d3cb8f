/**
 * Cancelling requests on the real PostgreSQL with a real master and two real workers over gRPC: a
 * running multi-strip request stops within ~2 s of RequestStore.cancel (its row says cancelled, its
 * outstanding tiles are never handed out again, no output folder is published), a pending cancelled
 * request never runs, and the next request completes on the same workers.
 */
import assert from 'node:assert/strict';
import { readdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { test, type TestContext } from 'node:test';
import { connectDatabase } from '../../master/db/database.js';
import { migrate } from '../../master/db/migrate.js';
import { PostgresRequestStore } from '../../master/db/request-store.js';
import { packageRoot } from '../../shared/package-root.js';
import { processTile } from '../../worker/tile-processor.js';
import { startTestMaster, startWorkers } from '../support/cluster.js';
import { createTestDatabase } from '../support/test-database.js';
import { Turnstile } from '../support/turnstile.js';
import { waitFinished } from '../support/wait-finished.js';

const sample = join(packageRoot(), 'samples', 'L7_ETMs.tif');
const BANDS = { red: `${sample}#3`, nir: `${sample}#4` };

for (const notifications of [true, false]) {
  const heard = notifications ? 'heard by NOTIFY' : 'without NOTIFY (as on the embedded database): read from the row';
  test(`a running request cancelled mid-way stops within 2 s, ${heard}; nothing published; a pending one never runs; the next completes`, (t) =>
    cancelMidway(t, notifications));
}

async function cancelMidway(t: TestContext, notifications: boolean): Promise<void> {
  const database = await createTestDatabase();
  const outputDir = await mkdtemp(join(tmpdir(), 'tessera-cancel-'));
  const db = connectDatabase({ url: database.url, maxConnections: 4, notifications });
  await migrate(db);
  const master = await startTestMaster({ outputDir, pollIntervalMs: 100 }, { store: new PostgresRequestStore(db) });
  const gate = new Turnstile();
  const workers = startWorkers(2, master.grpcPort, 'cancel-worker', {
    process: async (task, sources, scratch) => {
      await gate.pass();
      return processTile(task, sources, scratch);
    },
  });
  t.after(async () => {
    gate.allow(Infinity);
    await Promise.all(workers.map((worker) => worker.stop({ graceful: false })));
    await master.stop({ graceful: false, timeoutMs: 2_000 });
    await db.close();
    await database.drop();
    await rm(outputDir, { recursive: true, force: true });
  });
  const { store, events } = master;

  // 352 rows in 16-row strips: 22 tiles; the workers are let through three of them.
  const claimed = events.next('request:claimed');
  const running = await store.insert({ bands: BANDS, indices: ['ndvi'], stripRows: 16 });
  const queued = await store.insert({ bands: BANDS, indices: ['ndvi'], stripRows: 16 });
  assert.equal((await claimed).requestId, running);
  const progressed = events.next('request:progress', (p) => p.requestId === running && p.tilesDone === 3);
  gate.allow(3);
  await progressed;
  await gate.passed(3);

  // From the moment the master knows (request:cancelled), none of the request's tiles goes out
  // again. Before it (up to its next row read without NOTIFY) a worker may still be handed one:
  // that is inside the 2 s the request has to stop.
  const leasedAfter: string[] = [];
  let noticed = false;
  events.on('request:cancelled', (p) => void (noticed ||= p.requestId === running));
  events.on('tile:leased', ({ taskId }) => void (noticed && leasedAfter.push(taskId)));
  const cancelled = events.next('request:cancelled', (p) => p.requestId === running);
  const started = performance.now();
  assert.equal(await store.cancel(queued), 'cancelled');
  assert.equal(await store.cancel(running), 'cancelled');
  await cancelled;
  const stoppedMs = performance.now() - started;
  assert.ok(stoppedMs < 2_000, `the master stopped the cancelled request after ${Math.round(stoppedMs)} ms`);

  // The held workers are let go: their late results are dropped, and they take the next request.
  const next = await store.insert({ bands: BANDS, indices: ['ndvi'], stripRows: 64 });
  gate.allow(Infinity);
  const completed = await waitFinished(store, next);
  assert.equal(completed.status, 'completed', completed.error ?? '');
  assert.equal(completed.tilesDone, completed.tilesTotal);

  const row = await store.get(running);
  assert.equal(row?.status, 'cancelled');
  assert.equal(row?.error, null);
  assert.ok(row?.finishedAt);
  assert.ok((row?.tilesDone ?? 0) < 22, 'recorded nothing after the cancellation');
  const never = await store.get(queued);
  assert.deepEqual([never?.status, never?.attempts, never?.startedAt], ['cancelled', 0, null], 'the pending request never ran');
  assert.deepEqual(leasedAfter.filter((taskId) => taskId.startsWith(`${running}/`)), [], 'no tile of the cancelled request handed out once the master knew');

  const folders = (await readdir(outputDir)).sort();
  assert.deepEqual(folders, [next], `only the completed request has a folder (no ${running}, no staging): ${folders.join(', ')}`);
  t.diagnostic(`cancelled request stopped ${Math.round(stoppedMs)} ms after the cancel (${how(notifications)})`);
}

const how = (notifications: boolean): string => (notifications ? 'NOTIFY' : 'row read');
