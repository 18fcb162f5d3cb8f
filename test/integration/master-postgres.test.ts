/**
 * The master against the real PostgreSQL (TEST_DATABASE_URL): requests typed in with psql are picked
 * up by NOTIFY, two masters never process the same request, and a bad request fails on its own row
 * while the next one completes. Workers are real, over gRPC on loopback.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningMaster } from '../../master/start-master.js';
import { packageRoot } from '../../shared/package-root.js';
import type { TileWorker } from '../../worker/tile-worker.js';
import { startTestMaster, startWorkers } from '../support/cluster.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { waitFinished } from '../support/wait-finished.js';

const sample = join(packageRoot(), 'samples', 'L7_ETMs.tif');

function psql(url: string, sql: string): string {
  return execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], { encoding: 'utf8' }).trim();
}

/** The INSERT a user types (README): bands as JSON, indices as a Postgres array. */
function insertSql(bands: Record<string, string>, indices: string, stripRows = 64): string {
  return `INSERT INTO mosaic_requests (bands, indices, strip_rows) VALUES ('${JSON.stringify(bands)}', '{${indices}}', ${stripRows}) RETURNING id`;
}

const NDVI_BANDS = { red: `${sample}#3`, nir: `${sample}#4` };

describe('master on the real PostgreSQL', () => {
  let database: TestDatabase;
  let outputDir: string;
  const masters: RunningMaster[] = [];
  const workers: TileWorker[] = [];

  before(async () => {
    outputDir = await mkdtemp(join(tmpdir(), 'tessera-pg-test-'));
  });
  after(async () => {
    await rm(outputDir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    database = await createTestDatabase();
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop({ graceful: false })));
    await Promise.all(masters.splice(0).map((m) => m.stop({ graceful: false, timeoutMs: 2_000 })));
    await database.drop();
  });

  async function master(overrides: Parameters<typeof startTestMaster>[0] = {}): Promise<RunningMaster> {
    const m = await startTestMaster({ databaseUrl: database.url, outputDir, ...overrides });
    masters.push(m);
    workers.push(...startWorkers(2, m.grpcPort, m.masterId));
    return m;
  }

  test('a request inserted with psql is picked up in under 1 s by NOTIFY and completes', async () => {
    // Polling every 10 minutes: only the NOTIFY can explain a pick-up within a second.
    const m = await master({ pollIntervalMs: 600_000 });
    await sleep(300); // let the master finish its first (empty) claim and go idle
    const id = psql(database.url, insertSql(NDVI_BANDS, 'ndvi'));
    const row = await waitFinished(m.store, id);
    assert.equal(row.status, 'completed', row.error ?? '');
    assert.ok(row.startedAt && row.createdAt);
    const pickupMs = row.startedAt.getTime() - row.createdAt.getTime();
    assert.ok(pickupMs < 1_000, `picked up after ${pickupMs} ms`);
    assert.equal(row.tilesDone, row.tilesTotal);
    assert.ok(row.outputDir && existsSync(join(row.outputDir, 'ndvi.png')));
  });

  test('two masters on one database never process the same request', async () => {
    const a = await master({ pollIntervalMs: 100, masterId: 'master-a' });
    await master({ pollIntervalMs: 100, masterId: 'master-b' });
    const ids: string[] = [];
    for (let i = 0; i < 8; i += 1) ids.push(psql(database.url, insertSql(NDVI_BANDS, 'ndvi', 256)));
    const rows = await Promise.all(ids.map((id) => waitFinished(a.store, id)));
    for (const row of rows) {
      assert.equal(row.status, 'completed', row.error ?? '');
      assert.equal(row.attempts, 1, `request ${row.id} was claimed ${row.attempts} times`);
      assert.ok(row.claimedBy === 'master-a' || row.claimedBy === 'master-b');
    }
    // Each request's tiles were done by the workers of the master that claimed it, and only once.
    for (const row of rows) {
      const byWorker = Object.keys(row.workerTiles ?? {});
      assert.ok(byWorker.every((w) => w.startsWith(row.claimedBy ?? '?')), `${row.id}: ${byWorker.join(',')}`);
      const total = Object.values(row.workerTiles ?? {}).reduce((x, y) => x + y, 0);
      assert.equal(total, row.tilesTotal);
    }
  });

  test('a bad request fails with a readable reason and the next request still completes', async () => {
    const m = await master({ pollIntervalMs: 100 });
    const missing = psql(database.url, insertSql({ red: '/nonexistent/B04.tif', nir: '/nonexistent/B08.tif' }, 'ndvi'));
    const unknownIndex = psql(database.url, insertSql(NDVI_BANDS, 'gndvi'));
    const missingBand = psql(database.url, insertSql(NDVI_BANDS, 'ndsi'));
    const good = psql(database.url, insertSql(NDVI_BANDS, 'ndvi'));

    const failedFile = await waitFinished(m.store, missing);
    assert.equal(failedFile.status, 'failed');
    assert.match(failedFile.error ?? '', /\/nonexistent\/B0[48]\.tif/);

    const failedIndex = await waitFinished(m.store, unknownIndex);
    assert.equal(failedIndex.status, 'failed');
    assert.match(failedIndex.error ?? '', /unknown index "gndvi"/);

    const failedBand = await waitFinished(m.store, missingBand);
    assert.equal(failedBand.status, 'failed');
    assert.match(failedBand.error ?? '', /ndsi needs band "green"/);

    const completed = await waitFinished(m.store, good);
    assert.equal(completed.status, 'completed', completed.error ?? '');
  });
});
