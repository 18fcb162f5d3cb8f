/**
 * RequestRunner built from its parts (real PostgreSQL, real dispatcher and gRPC server, real
 * workers): in-flight strips never exceed maxInflightTiles, and a master that stops mid-request puts
 * the row back to pending, publishes nothing, and leaves a checkpoint the next claim resumes from.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectDatabase, type Database } from '../../master/db/database.js';
import { migrate } from '../../master/db/migrate.js';
import { PostgresRequestStore, type RequestStore } from '../../master/db/request-store.js';
import { TileDispatcher } from '../../master/dispatch/tile-dispatcher.js';
import { startTileServer, type TileServer } from '../../master/dispatch/tile-server.js';
import { readCheckpoint } from '../../master/output/resume-checkpoint.js';
import { RequestRunner } from '../../master/request-runner.js';
import { createLogger } from '../../shared/logger.js';
import { packageRoot } from '../../shared/package-root.js';
import { createTileServiceClient, type TileTask__Output } from '../../shared/proto/tile-service.js';
import { processTile, type SourceStream } from '../../worker/tile-processor.js';
import { TileWorker } from '../../worker/tile-worker.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const log = createLogger('test', 'silent');
const sample = join(packageRoot(), 'samples', 'L7_ETMs.tif');
const MAX_INFLIGHT = 3;

describe('RequestRunner', () => {
  let database: TestDatabase;
  let db: Database;
  let store: RequestStore;
  let dispatcher: TileDispatcher;
  let server: TileServer;
  let workers: TileWorker[];
  let outputDir: string;

  beforeEach(async () => {
    outputDir = await mkdtemp(join(tmpdir(), 'tessera-runner-test-'));
    database = await createTestDatabase();
    db = connectDatabase({ url: database.url, maxConnections: 4, notifications: false });
    await migrate(db);
    store = new PostgresRequestStore(db);
    dispatcher = new TileDispatcher({ leaseMs: 10_000, maxAttempts: 3, log });
    server = await startTileServer({ dispatcher, listen: '127.0.0.1:0', longPollMs: 1_000, maxMessageBytes: 64 << 20, log });
    // Real computation, slowed down a little so the master's queue has time to fill up.
    const slowProcess = async (task: TileTask__Output, sources: SourceStream) => {
      await sleep(15);
      return processTile(task, sources);
    };
    workers = Array.from({ length: 4 }, (_, i) => {
      const worker = new TileWorker({
        client: createTileServiceClient(`127.0.0.1:${server.port}`, 64 << 20),
        workerId: `w${i}`,
        concurrency: 2,
        pollDeadlineMs: 5_000,
        log,
        process: slowProcess,
      });
      worker.start();
      return worker;
    });
  });
  afterEach(async () => {
    await Promise.all(workers.map((w) => w.stop({ graceful: false })));
    await server.stop({ timeoutMs: 1_000 });
    await db.close();
    await database.drop();
    await rm(outputDir, { recursive: true, force: true });
  });

  function runner(): RequestRunner {
    return new RequestRunner({
      store,
      dispatcher,
      masterId: 'm1',
      outputDir,
      requestDefaults: { earthdailyBands: { blue: 1, green: 2, red: 3, nir: 4 } },
      stripPixels: 16_000_000,
      stripBufferBytes: 1 << 20,
      maxBboxDeg: 0.42,
      maxRequestPixels: 100_000_000,
      maxInflightTiles: MAX_INFLIGHT,
      heartbeatMs: 1_000,
      checkpointMs: 1_000,
      resumable: true,
      maxAttempts: 5,
      log,
    });
  }

  async function claim(stripRows: number) {
    await store.insert({ bands: { red: `${sample}#3`, nir: `${sample}#4` }, indices: ['ndvi'], stripRows });
    const row = await store.claimNext('m1', 60_000);
    assert.ok(row);
    return row;
  }

  test(`never has more than ${MAX_INFLIGHT} tiles in flight, with 8 worker slots asking`, async () => {
    const row = await claim(30); // the sample's 352 rows in 3-row file strips: 11 strips of 30 rows and one of 22
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { ready, leased } = dispatcher.counts();
        peak = Math.max(peak, ready + leased);
        await sleep(1);
      }
    })();
    await runner().process(row, new AbortController().signal);
    sampling = false;
    await sampler;
    const done = await store.get(row.id);
    assert.equal(done?.status, 'completed', done?.error ?? '');
    assert.equal(done?.tilesDone, 12);
    assert.ok(peak <= MAX_INFLIGHT, `peak ${peak} tiles in flight`);
    assert.equal(peak, MAX_INFLIGHT, 'the limit was reached (the test exercised it)');
  });

  test('a stop mid-request releases the row to pending, publishes nothing, and the next claim resumes from its checkpoint', async () => {
    const row = await claim(3); // 118 strips
    const stop = new AbortController();
    const running = runner().process(row, stop.signal);
    for (;;) {
      const current = await store.get(row.id);
      if ((current?.tilesDone ?? 0) >= 20) break;
      await sleep(5);
    }
    stop.abort();
    await running;
    const released = await store.get(row.id);
    assert.equal(released?.status, 'pending');
    assert.equal(released?.claimedBy, null);
    assert.equal(existsSync(join(outputDir, row.id)), false, 'no output folder for an unfinished request');
    assert.deepEqual(dispatcher.counts().ready + dispatcher.counts().leased, 0, 'its tiles were withdrawn');
    const staging = (await readdir(outputDir)).filter((name) => name.startsWith(`${row.id}.partial-`));
    assert.equal(staging.length, 1, 'the staging folder is kept for the next claim');
    const checkpoint = await readCheckpoint(join(outputDir, staging[0]!));
    assert.ok(checkpoint, 'with a checkpoint');
    // At least 20 strips were accepted; up to MAX_INFLIGHT of them may have waited for one above.
    assert.ok(checkpoint.writer.strips >= 20 - MAX_INFLIGHT, `the checkpoint covers ${checkpoint.writer.strips} strips`);

    const again = await store.claimNext('m1', 60_000);
    assert.equal(again?.id, row.id);
    await runner().process(again!, new AbortController().signal);
    const done = await store.get(row.id);
    assert.equal(done?.status, 'completed', done?.error ?? '');
    assert.equal(done?.tilesDone, 118);
    const manifest = JSON.parse(await readFile(join(outputDir, row.id, 'manifest.json'), 'utf8')) as { tiles: { resumedStrips: number } };
    assert.equal(manifest.tiles.resumedStrips, checkpoint.writer.strips, 'the second claim started below the checkpoint');
    assert.deepEqual((await readdir(outputDir)).filter((name) => name.includes('.partial')), [], 'no staging folder left');
  });
});
