/**
 * Claims are fenced end to end (real PostgreSQL, real gRPC, one shared OUTPUT_DIR):
 * - master A stalls mid-request (its database calls and its worker held behind a gate, as a paused
 *   process would be), master B takes the request over and finishes it; when A resumes it notices
 *   the lost claim and writes nothing: B's outputs and row stay byte for byte as B left them;
 * - two masters sharing one database and one OUTPUT_DIR, 20 requests queued at once: every request
 *   completes once, every output is byte-identical to a fault-free run.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connectDatabase, type Database } from '../../master/db/database.js';
import { migrate } from '../../master/db/migrate.js';
import { PostgresRequestStore } from '../../master/db/request-store.js';
import { TileDispatcher } from '../../master/dispatch/tile-dispatcher.js';
import { startTileServer, type TileServer } from '../../master/dispatch/tile-server.js';
import { loadMasterCodecs } from '../../master/master-codecs.js';
import { RequestRunner } from '../../master/request-runner.js';
import type { RequestStore } from '../../master/store/request-store.js';
import { createLogger, type Logger } from '../../shared/logger.js';
import { packageRoot } from '../../shared/package-root.js';
import { createTileServiceClient, type TileTask__Output } from '../../shared/proto/tile-service.js';
import { processTile, type SourceStream } from '../../worker/tile-processor.js';
import type { ScratchArrays } from '../../worker/scratch-arrays.js';
import { TileWorker } from '../../worker/tile-worker.js';
import { startTestMaster, startWorkers } from '../support/cluster.js';
import { captureLog } from '../support/log-capture.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { waitFinished } from '../support/wait-finished.js';

const sample = join(packageRoot(), 'samples', 'L7_ETMs.tif');
const REQUEST = { bands: { green: `${sample}#2`, red: `${sample}#3`, nir: `${sample}#4`, swir16: `${sample}#5` }, indices: ['ndvi', 'ndsi'], stripRows: 30 };
const FILES = ['ndvi.png', 'ndvi_color.png', 'ndsi.png', 'ndsi_color.png', 'ndvi.pgw', 'ndsi.png.aux.xml'];
const STALE_MS = 600;
const silent = createLogger('test', 'silent');

/** A gate: closed, every call waits at it; open, they all go on. */
function gate(): { wait(): Promise<void>; close(): void; open(): void } {
  let opened = Promise.resolve();
  let release: () => void = () => undefined;
  return {
    wait: () => opened,
    close() {
      opened = new Promise<void>((resolve) => (release = resolve));
    },
    open: () => release(),
  };
}

/** `store` with every call waiting at `held` first (a paused master's database calls). */
function gatedStore(store: RequestStore, held: ReturnType<typeof gate>): RequestStore {
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await held.wait();
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** Which files these are (inode, modification time): the same bytes written anew would differ here. */
async function identities(folder: string): Promise<Record<string, string>> {
  return Object.fromEntries(await Promise.all(FILES.map(async (f) => {
    const info = await stat(join(folder, f));
    return [f, `${info.ino}@${info.mtimeMs}`];
  })));
}

async function digests(folder: string): Promise<Record<string, string>> {
  return Object.fromEntries(await Promise.all(FILES.map(async (f) => [f, createHash('sha256').update(await readFile(join(folder, f))).digest('hex')])));
}

interface Master {
  readonly runner: RequestRunner;
  readonly server: TileServer;
  readonly worker: TileWorker;
}

async function master(id: string, store: RequestStore, outputDir: string, log: Logger, process: (task: TileTask__Output, sources: SourceStream, scratch: ScratchArrays) => ReturnType<typeof processTile>): Promise<Master> {
  const dispatcher = new TileDispatcher({ leaseMs: 30_000, maxAttempts: 3, log: silent });
  const server = await startTileServer({ dispatcher, listen: '127.0.0.1:0', longPollMs: 1_000, maxMessageBytes: 64 << 20, log: silent });
  const worker = new TileWorker({ client: createTileServiceClient(`127.0.0.1:${server.port}`, 64 << 20), workerId: `${id}-worker`, concurrency: 1, pollDeadlineMs: 5_000, log: silent, process });
  worker.start();
  const runner = new RequestRunner({
    store,
    dispatcher,
    masterId: id,
    outputDir,
    requestDefaults: { earthdailyBands: { blue: 1, green: 2, red: 3, nir: 4 } },
    stripPixels: 16_000_000,
    // As startTestMaster's masters resolve STRIP_DEFLATE=auto: their bytes are compared with these.
    stripDeflate: (await loadMasterCodecs('auto')).stripDeflate,
    stripBufferBytes: 1 << 20,
    maxBboxDeg: 0.42,
    maxRequestPixels: 100_000_000,
    maxInflightTiles: 4,
    heartbeatMs: 100,
    checkpointMs: 1_000,
    resumable: true,
    maxAttempts: 5,
    log,
  });
  return { runner, server, worker };
}

describe('fenced claims with one database and one OUTPUT_DIR', () => {
  let database: TestDatabase;
  let db: Database;
  let outputDir: string;
  let reference: Record<string, string>;

  before(async () => {
    database = await createTestDatabase();
    db = connectDatabase({ url: database.url, maxConnections: 8, notifications: false });
    await migrate(db);
    outputDir = await mkdtemp(join(tmpdir(), 'tessera-lost-claim-'));
    // A fault-free run, for the bytes every other run must match.
    const store = new PostgresRequestStore(db);
    const solo = await master('solo', store, outputDir, silent, processTile);
    try {
      const id = await store.insert(REQUEST);
      await solo.runner.process((await store.claimNext('solo', STALE_MS))!, new AbortController().signal);
      assert.equal((await store.get(id))?.status, 'completed');
      reference = await digests(join(outputDir, id));
    } finally {
      await solo.worker.stop({ graceful: false });
      await solo.server.stop({ timeoutMs: 500 });
    }
  });
  after(async () => {
    await db.close();
    await database.drop();
    await rm(outputDir, { recursive: true, force: true });
  });

  test('a master that lost its claim mid-request writes nothing when it resumes; the new owner\'s outputs and row stay intact', async () => {
    const store = new PostgresRequestStore(db);
    const held = gate();
    const recorded = captureLog();
    let started!: () => void;
    const aStarted = new Promise<void>((resolve) => (started = resolve));
    // A's worker takes a strip, then is paused with the rest of A.
    const a = await master('master-a', gatedStore(store, held), outputDir, recorded.logger, async (task, sources, scratch) => {
      started();
      await held.wait();
      return processTile(task, sources, scratch);
    });
    const b = await master('master-b', store, outputDir, silent, processTile);
    try {
      const id = await store.insert(REQUEST);
      const claimedByA = await store.claimNext('master-a', STALE_MS);
      assert.ok(claimedByA);
      const runningA = a.runner.process(claimedByA, new AbortController().signal);
      await aStarted;
      held.close(); // A is paused: no heartbeat, no progress, its worker stopped mid-strip

      let claimedByB = null;
      while (!claimedByB) claimedByB = await store.claimNext('master-b', STALE_MS); // once A's heartbeat is STALE_MS old
      assert.equal(claimedByB.attempts, 2);
      await b.runner.process(claimedByB, new AbortController().signal);
      const finished = await store.get(id);
      assert.equal(finished?.status, 'completed', finished?.error ?? '');
      assert.equal(finished?.claimedBy, 'master-b');
      const outputsOfB = await digests(join(outputDir, id));
      const filesOfB = await identities(join(outputDir, id));
      assert.deepEqual(outputsOfB, reference, 'B\'s mosaic is the fault-free one');

      held.open(); // A resumes
      await runningA;
      assert.deepEqual(await store.get(id), finished, 'the row is as B left it');
      assert.deepEqual(await digests(join(outputDir, id)), outputsOfB, 'B\'s bytes are untouched');
      assert.deepEqual(await identities(join(outputDir, id)), filesOfB, 'B\'s very files: A published nothing over them');
      assert.deepEqual((await readdir(outputDir)).filter((name) => name.startsWith(`${id}.`)), [], 'no staging folder of A is left');
      const said = await recorded.seen((line) => /lost the claim/.test(String(line['msg']))); // A says so (once it has read the row)
      assert.equal(said['heldBy'], 'master-b');
      assert.ok(!recorded.records().some((line) => line['msg'] === 'request completed'), 'A did not complete it');
    } finally {
      held.open();
      for (const m of [a, b]) {
        await m.worker.stop({ graceful: false });
        await m.server.stop({ timeoutMs: 500 });
      }
    }
  });

  test('two masters, 20 requests queued at once: each completes once, every output byte-identical to a fault-free run', { timeout: 120_000 }, async () => {
    const masters = await Promise.all(['m1', 'm2'].map((masterId) => startTestMaster({ databaseUrl: database.url, outputDir, masterId, pollIntervalMs: 100 })));
    const workers = masters.flatMap((m, i) => startWorkers(2, m.grpcPort, `w${i}`));
    try {
      const store = new PostgresRequestStore(db);
      const ids = await Promise.all(Array.from({ length: 20 }, () => store.insert(REQUEST)));
      const rows = await Promise.all(ids.map((id) => waitFinished(store, id, 100_000)));
      for (const row of rows) {
        assert.equal(row.status, 'completed', row.error ?? '');
        assert.equal(row.attempts, 1, `request ${row.id} was claimed once`);
        assert.deepEqual(await digests(join(outputDir, row.id)), reference, `request ${row.id}`);
      }
      assert.deepEqual(new Set(rows.map((row) => row.claimedBy)), new Set(['m1', 'm2']), 'both masters took requests');
      assert.deepEqual((await readdir(outputDir)).filter((name) => name.includes('.partial')), [], 'no staging folder left');
    } finally {
      await Promise.all(workers.map((w) => w.stop({ graceful: false })));
      await Promise.all(masters.map((m) => m.stop({ graceful: false, timeoutMs: 1_000 })));
    }
  });
});
