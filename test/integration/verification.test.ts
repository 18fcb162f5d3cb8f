/**
 * Verified answers (VERIFY_FRACTION): three workers, one of which flips one pixel in one tile of
 * ten. With every strip verified it is outvoted and banned, the row and manifest say so, and the
 * mosaics are byte-identical to a fault-free run. With a fraction below 1 a cheater flipping every
 * tile is caught only after strips it computed unchecked were written: they are taken back out of
 * the files and computed again, and the mosaics are still byte-identical.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { MosaicRequestRow, NewMosaicRequest } from '../../master/db/request-store.js';
import type { RunningMaster } from '../../master/start-master.js';
import { InMemoryRequestStore } from '../../master/store/in-memory-request-store.js';
import type { MasterConfig } from '../../shared/config/master-config.js';
import { packageRoot } from '../../shared/package-root.js';
import type { TileWorker } from '../../worker/tile-worker.js';
import { cheatingProcess } from '../support/cheating-worker.js';
import { startTestMaster, startWorkers } from '../support/cluster.js';
import { waitFinished } from '../support/wait-finished.js';

const sample = join(packageRoot(), 'samples', 'L7_ETMs.tif');
const REQUEST: NewMosaicRequest = {
  bands: { green: `${sample}#2`, red: `${sample}#3`, nir: `${sample}#4`, swir16: `${sample}#5` },
  indices: ['ndvi', 'ndsi'],
  stripRows: 6, // 59 strips
};
const FILES = ['ndvi.png', 'ndvi_color.png', 'ndsi.png', 'ndsi_color.png', 'ndvi.pgw', 'ndsi.png.aux.xml'];

async function digests(folder: string): Promise<Record<string, string>> {
  return Object.fromEntries(await Promise.all(FILES.map(async (f) => [f, createHash('sha256').update(await readFile(join(folder, f))).digest('hex')])));
}

interface Cluster {
  readonly master: RunningMaster;
  readonly store: InMemoryRequestStore;
  readonly workers: TileWorker[];
  stop(): Promise<void>;
}

/** A master on an in-memory store; the cheater (when `cheatEvery` is set) starts first, so it is waiting first. */
async function cluster(output: string, config: Partial<MasterConfig>, cheatEvery?: number, extras: { verifyRandom?: () => number } = {}): Promise<Cluster & { flipped: () => number }> {
  const store = new InMemoryRequestStore();
  const master = await startTestMaster({ outputDir: output, pollIntervalMs: 50, checkpointMs: 50, ...config }, { store, ...extras });
  const cheat = cheatEvery === undefined ? undefined : cheatingProcess(cheatEvery);
  const workers = [
    ...(cheat ? startWorkers(1, master.grpcPort, 'cheater', { process: cheat.process }) : []),
    ...startWorkers(cheat ? 2 : 3, master.grpcPort, 'honest'),
  ];
  return {
    master,
    store,
    workers,
    flipped: () => cheat?.counts.flipped ?? 0,
    async stop() {
      await Promise.all(workers.map((w) => w.stop({ graceful: false })));
      await master.stop({ graceful: false, timeoutMs: 1_000 });
    },
  };
}

async function manifestOf(row: MosaicRequestRow): Promise<{ verification?: unknown; tiles: { byWorker: Record<string, number> } }> {
  return JSON.parse(await readFile(join(row.outputDir!, 'manifest.json'), 'utf8')) as { verification?: unknown; tiles: { byWorker: Record<string, number> } };
}

describe('verified answers', () => {
  let output: string;
  let reference: Record<string, string>;

  before(async () => {
    output = await mkdtemp(join(tmpdir(), 'tessera-verify-'));
    const calm = await cluster(output, {});
    try {
      const row = await waitFinished(calm.store, await calm.store.insert(REQUEST), 60_000);
      assert.equal(row.status, 'completed', row.error ?? '');
      assert.equal(row.verification, null, 'verification off by default: no record');
      assert.equal((await manifestOf(row)).verification, undefined);
      reference = await digests(row.outputDir!);
    } finally {
      await calm.stop();
    }
  });
  after(async () => {
    await rm(output, { recursive: true, force: true });
  });

  test('VERIFY_FRACTION=1: a worker flipping one pixel in one tile of ten is banned, and none of its results reach the mosaic', { timeout: 120_000 }, async () => {
    const run = await cluster(output, { verifyFraction: 1 }, 10);
    try {
      const banned = run.master.events.next('worker:banned');
      const id = await run.store.insert(REQUEST);
      const row = await waitFinished(run.store, id, 90_000);
      assert.equal(row.status, 'completed', row.error ?? '');
      assert.equal((await banned).workerId, 'cheater-1');
      assert.ok(run.flipped() >= 1, 'the cheater did flip a pixel');

      const verification = row.verification;
      assert.ok(verification, 'the row records verification');
      assert.equal(verification.fraction, 1);
      assert.equal(verification.sampledStrips, row.tilesTotal, 'every strip sampled');
      assert.ok(verification.arbitrations >= 1);
      const cheater = verification.byWorker['cheater-1'];
      assert.ok(cheater, JSON.stringify(verification));
      assert.equal(cheater.banned, true);
      assert.ok(cheater.minority >= 1);
      assert.equal(cheater.unverified, 0, 'with every strip verified nothing of it went in unchecked');
      for (const honest of ['honest-1', 'honest-2']) {
        assert.equal(verification.byWorker[honest]?.banned, false, honest);
        assert.ok((verification.byWorker[honest]?.verified ?? 0) > 0, honest);
        assert.equal(verification.byWorker[honest]?.minority, 0, honest);
      }
      assert.deepEqual((await manifestOf(row)).verification, verification, 'the manifest says the same');
      assert.deepEqual(await digests(row.outputDir!), reference, 'byte-identical to the fault-free run');
    } finally {
      await run.stop();
    }
  });

  test('VERIFY_FRACTION<1: a cheater caught after its unchecked strips were written has them taken out and recomputed', { timeout: 120_000 }, async () => {
    // The first 12 strips are not sampled, every later one is: the cheater (waiting first) computes
    // strip 0 and others unchecked; they are written before a sampled strip catches it.
    let drawn = 0;
    const random = (): number => (drawn++ < 12 ? 0.99 : 0);
    const run = await cluster(output, { verifyFraction: 0.5 }, 1, { verifyRandom: random });
    try {
      const id = await run.store.insert(REQUEST);
      const row = await waitFinished(run.store, id, 90_000);
      assert.equal(row.status, 'completed', row.error ?? '');
      const cheater = row.verification?.byWorker['cheater-1'];
      assert.ok(cheater, JSON.stringify(row.verification));
      assert.equal(cheater.banned, true);
      assert.ok(cheater.discarded >= 1, `its unchecked strips were thrown out: ${JSON.stringify(cheater)}`);
      assert.equal(cheater.unverified, 0, 'none of its unchecked strips is left in the mosaic');
      assert.equal(row.verification?.sampledStrips, (row.tilesTotal ?? 0) - 12);
      assert.equal(row.tilesDone, row.tilesTotal);
      assert.equal(row.workerTiles?.['cheater-1'], undefined, 'no strip in the mosaic is credited to the cheater');
      assert.deepEqual(await digests(row.outputDir!), reference, 'byte-identical to the fault-free run');
    } finally {
      await run.stop();
    }
  });

  test('one worker only: a replica nobody takes within VERIFY_WAIT_MS is given up; the request completes unverified', { timeout: 60_000 }, async () => {
    const store = new InMemoryRequestStore();
    const master = await startTestMaster({ outputDir: output, pollIntervalMs: 50, verifyFraction: 1, verifyWaitMs: 100 }, { store });
    const [alone] = startWorkers(1, master.grpcPort, 'alone');
    try {
      const row = await waitFinished(store, await store.insert({ ...REQUEST, stripRows: 64 }), 30_000);
      assert.equal(row.status, 'completed', row.error ?? '');
      assert.equal(row.verification?.replicasGivenUp, row.tilesTotal);
      assert.deepEqual(row.verification?.byWorker['alone-1'], { verified: 0, minority: 0, unverified: row.tilesTotal, discarded: 0, banned: false });
    } finally {
      await alone?.stop({ graceful: false });
      await master.stop({ graceful: false, timeoutMs: 1_000 });
    }
  });
});
