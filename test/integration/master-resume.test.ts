/**
 * Resume, don't restart: a `tessera master` process is killed with SIGKILL when 60 % of a request's
 * strips are done; a second master takes the request over once its heartbeat is stale, carries on
 * from the dead master's checkpoint, computes at most half of the strips, and publishes mosaics
 * byte-identical to a fault-free run's. Real PostgreSQL, real gRPC, a real process to kill.
 *
 * The workers run in this process and compute a strip only when the test lets them (a Turnstile),
 * so "60 % done" is an exact point, not a race against the clock.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connectDatabase, type Database } from '../../master/db/database.js';
import { migrate } from '../../master/db/migrate.js';
import { PostgresRequestStore, type NewMosaicRequest } from '../../master/db/request-store.js';
import { readCheckpoint } from '../../master/output/resume-checkpoint.js';
import { freePort } from '../../shared/free-port.js';
import { packageRoot } from '../../shared/package-root.js';
import { processTile } from '../../worker/tile-processor.js';
import type { TileWorker } from '../../worker/tile-worker.js';
import { spawnCli } from '../support/cli.js';
import { startTestMaster, startWorkers, stopProcesses } from '../support/cluster.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { Turnstile } from '../support/turnstile.js';
import { waitFinished } from '../support/wait-finished.js';

const sample = join(packageRoot(), 'samples', 'L7_ETMs.tif');
const REQUEST: NewMosaicRequest = {
  bands: { green: `${sample}#2`, red: `${sample}#3`, nir: `${sample}#4`, swir16: `${sample}#5` },
  indices: ['ndvi', 'ndsi'],
  stripRows: 8, // about 50 strips (aligned to the file's own strips)
};
const FILES = ['ndvi.png', 'ndvi_color.png', 'ndsi.png', 'ndsi_color.png'];

async function digests(folder: string): Promise<Record<string, string>> {
  return Object.fromEntries(await Promise.all(FILES.map(async (f) => [f, createHash('sha256').update(await readFile(join(folder, f))).digest('hex')])));
}

/** Waits (re-reading the folder as the dead master's run writes it) until its checkpoint covers `strips`. */
async function checkpointCovering(outputDir: string, id: string, strips: number, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const name of (await readdir(outputDir)).filter((n) => n.startsWith(`${id}.partial-`))) {
      const checkpoint = await readCheckpoint(join(outputDir, name));
      if (checkpoint && checkpoint.writer.strips >= strips) return checkpoint.writer.strips;
    }
    if (Date.now() > deadline) throw new Error(`no checkpoint of ${strips} strips within ${timeoutMs} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** The request's strip count, once its master has planned it (it waits for its workers meanwhile). */
async function plannedStrips(store: PostgresRequestStore, id: string, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await store.get(id);
    if (row?.tilesTotal) return row.tilesTotal;
    if (Date.now() > deadline) throw new Error(`request ${id} not planned within ${timeoutMs} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('a master killed mid-request', () => {
  let database: TestDatabase;
  let db: Database;
  let root: string;

  before(async () => {
    database = await createTestDatabase();
    db = connectDatabase({ url: database.url, maxConnections: 2, notifications: false });
    await migrate(db);
    root = await mkdtemp(join(tmpdir(), 'tessera-resume-'));
  });
  after(async () => {
    await db.close();
    await database.drop();
    await rm(root, { recursive: true, force: true });
  });

  test('the next master resumes from its checkpoint: at most half redone, output byte-identical', { timeout: 120_000 }, async (t) => {
    // The fault-free reference.
    const calmMaster = await startTestMaster({ databaseUrl: database.url, outputDir: join(root, 'calm'), pollIntervalMs: 100 });
    const calm = startWorkers(2, calmMaster.grpcPort, 'calm');
    const calmRow = await waitFinished(calmMaster.store, await calmMaster.store.insert(REQUEST));
    assert.equal(calmRow.status, 'completed', calmRow.error ?? '');
    await Promise.all(calm.map((w) => w.stop()));
    await calmMaster.stop();
    const reference = await digests(calmRow.outputDir!);

    const outputDir = join(root, 'out');
    const port = await freePort();
    const settings = { databaseUrl: database.url, outputDir, grpcListen: `127.0.0.1:${port}`, requestStaleMs: 2_000, pollIntervalMs: 100 };
    const doomed: ChildProcess = spawnCli(['master'], {
      DATABASE_URL: settings.databaseUrl,
      OUTPUT_DIR: outputDir,
      GRPC_LISTEN: settings.grpcListen,
      REQUEST_STALE_MS: String(settings.requestStaleMs),
      POLL_INTERVAL_MS: String(settings.pollIntervalMs),
      CHECKPOINT_MS: '50',
      MASTER_ID: 'doomed',
    });
    const turns = new Turnstile();
    let workers: TileWorker[] = [];
    try {
      workers = startWorkers(2, port, 'steady', {
        process: async (task, sources, scratch) => {
          await turns.pass();
          return processTile(task, sources, scratch);
        },
      });
      const store = new PostgresRequestStore(db);
      const id = await store.insert(REQUEST);
      const total = await plannedStrips(store, id);
      const done = Math.round(total * 0.6);
      turns.allow(done);
      await turns.passed(done);
      const reached = await checkpointCovering(outputDir, id, done - 2); // the last two may still be on their way back
      doomed.kill('SIGKILL');
      await stopProcesses([doomed]);
      // Read again once the master is dead: it may have written a later checkpoint between the read
      // above and the kill (every 50 ms here), and the successor resumes from the one on the disk.
      const covered = await checkpointCovering(outputDir, id, reached);

      // The successor, on the same port: the workers find it by themselves.
      const successor = await startTestMaster({ ...settings, masterId: 'successor' });
      let redone = 0;
      successor.events.on('tile:done', () => void (redone += 1));
      try {
        turns.allow(Infinity);
        const row = await waitFinished(store, id);
        assert.equal(row.status, 'completed', row.error ?? '');
        assert.equal(row.claimedBy, 'successor');
        assert.equal(row.tilesTotal, total);
        assert.equal(row.tilesDone, total);
        t.diagnostic(`${total} strips; killed with ${done} done, checkpoint covering ${covered}; the successor computed ${redone}`);
        assert.ok(redone <= total / 2, `the successor computed ${redone} of ${total} strips`);
        assert.equal(redone, total - covered, 'exactly the strips the checkpoint did not cover');
        const manifest = JSON.parse(await readFile(join(row.outputDir!, 'manifest.json'), 'utf8')) as { tiles: { resumedStrips: number } };
        assert.equal(manifest.tiles.resumedStrips, covered);
        assert.deepEqual(await digests(row.outputDir!), reference, 'byte-identical to the fault-free run');
        const left = (await readdir(outputDir)).filter((name) => name.includes('.partial'));
        assert.deepEqual(left, [], 'the dead master\'s staging folder is gone');
        assert.ok(!(await readdir(row.outputDir!)).includes('checkpoint.json'), 'the published folder holds outputs, not the checkpoint it resumed from');
      } finally {
        await Promise.all(workers.map((w) => w.stop({ graceful: false })));
        workers = [];
        await successor.stop({ graceful: false, timeoutMs: 1_000 });
      }
    } finally {
      turns.allow(Infinity);
      await Promise.all(workers.map((w) => w.stop({ graceful: false })));
      await stopProcesses([doomed]);
    }
  });
});
