/**
 * Kill -9 one of two worker processes in the middle of a multi-tile request: the request completes
 * and the mosaics are identical to an undisturbed run's. And with the default one-minute lease, the
 * tiles the dead worker held go back to the queue as soon as its connection drops (its Attend call
 * ends), not a minute later.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { MosaicRequestRow, NewMosaicRequest } from '../../master/db/request-store.js';
import { packageRoot } from '../../shared/package-root.js';
import { spawnWorkerProcesses, startTestMaster, startWorkers, stopProcesses } from '../support/cluster.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { waitFinished } from '../support/wait-finished.js';

const sample = join(packageRoot(), 'samples', 'L7_ETMs.tif');
const REQUEST: NewMosaicRequest = {
  bands: { green: `${sample}#2`, red: `${sample}#3`, nir: `${sample}#4`, swir16: `${sample}#5` },
  indices: ['ndvi', 'ndsi'],
  stripRows: 1, // 352 one-row strips: long enough to kill a worker in the middle
};

async function pixels(path: string): Promise<Buffer> {
  return sharp(path).raw().toBuffer();
}

async function outputsOf(row: MosaicRequestRow): Promise<Record<string, Buffer>> {
  const outputs = row.outputs as Record<string, { png: string; colorPng: string }>;
  const result: Record<string, Buffer> = {};
  for (const index of ['ndvi', 'ndsi']) {
    const files = outputs[index];
    assert.ok(files, `no ${index} output`);
    result[index] = await pixels(files.png);
    result[`${index}_color`] = await pixels(files.colorPng);
  }
  return result;
}

describe('a worker killed mid-request', () => {
  let database: TestDatabase;
  let outputDir: string;

  before(async () => {
    database = await createTestDatabase();
    outputDir = await mkdtemp(join(tmpdir(), 'tessera-kill-test-'));
  });
  after(async () => {
    await database.drop();
    await rm(outputDir, { recursive: true, force: true });
  });

  test('the request still completes with output identical to an undisturbed run', { timeout: 120_000 }, async () => {
    const master = await startTestMaster({ databaseUrl: database.url, outputDir, pollIntervalMs: 100, tileLeaseMs: 1_000 });
    try {
      // Undisturbed run: two workers, nobody killed.
      const calm = startWorkers(2, master.grpcPort, 'calm');
      const calmId = await master.store.insert(REQUEST);
      const calmRow = await waitFinished(master.store, calmId);
      await Promise.all(calm.map((w) => w.stop()));
      assert.equal(calmRow.status, 'completed', calmRow.error ?? '');

      // Disturbed run: two worker processes, one killed with SIGKILL part-way.
      const processes = [
        ...spawnWorkerProcesses(1, master.grpcPort, { WORKER_ID: 'victim' }),
        ...spawnWorkerProcesses(1, master.grpcPort, { WORKER_ID: 'survivor' }),
      ];
      try {
        // Killed once both have shown they work and the victim has done a few strips.
        const done = new Map<string, number>();
        const killed = new Promise<void>((resolve) => {
          const off = master.events.on('tile:done', ({ workerId }) => {
            done.set(workerId, (done.get(workerId) ?? 0) + 1);
            if ((done.get('victim') ?? 0) < 10 || (done.get('survivor') ?? 0) < 1) return;
            off();
            processes[0]?.kill('SIGKILL');
            resolve();
          });
        });
        const id = await master.store.insert(REQUEST);
        await killed;
        const row = await waitFinished(master.store, id);
        assert.equal(row.status, 'completed', row.error ?? '');
        assert.equal(row.tilesDone, row.tilesTotal);
        const doneAtKill = [...done.values()].reduce((a, b) => a + b, 0);
        assert.ok(doneAtKill < (row.tilesTotal ?? 0) - 50, `killed too late to matter: ${doneAtKill}/${row.tilesTotal}`);
        assert.equal(Object.keys(row.workerTiles ?? {}).length, 2, 'both workers did tiles before the kill');

        const calmOutputs = await outputsOf(calmRow);
        const disturbedOutputs = await outputsOf(row);
        for (const [name, data] of Object.entries(calmOutputs)) {
          assert.ok(data.equals(disturbedOutputs[name] as Buffer), `${name} differs from the undisturbed run`);
        }
      } finally {
        await stopProcesses(processes);
      }
    } finally {
      await master.stop({ graceful: false, timeoutMs: 2_000 });
    }
  });

  test('with the default one-minute lease, a dead worker\'s tiles are handed out again within seconds', { timeout: 30_000 }, async () => {
    const leaseMs = 60_000;
    const master = await startTestMaster({ databaseUrl: database.url, outputDir, pollIntervalMs: 100, tileLeaseMs: leaseMs });
    const doomed = spawnWorkerProcesses(1, master.grpcPort, { WORKER_ID: 'doomed' });
    const steady = spawnWorkerProcesses(1, master.grpcPort, { WORKER_ID: 'steady' });
    const requeued: string[] = [];
    master.events.on('tile:requeued', ({ reason }) => void requeued.push(reason));
    try {
      // Kill the doomed worker the moment it is handed a tile, after it has shown it works.
      let killedAt = 0;
      const held = new Set<string>();
      const killed = master.events
        .next('tile:done', ({ workerId }) => workerId === 'doomed')
        .then(() => master.events.next('tile:leased', ({ workerId, taskId }) => {
          if (workerId !== 'doomed') return false;
          held.add(taskId);
          doomed[0]?.kill('SIGKILL');
          killedAt = Date.now();
          return true;
        }));
      const gone = master.events.next('worker:gone', ({ workerId }) => workerId === 'doomed');
      const startedAt = Date.now();
      const id = await master.store.insert(REQUEST);
      await killed;
      const { released } = await gone;
      const noticedMs = Date.now() - killedAt;
      assert.ok(released >= 1, 'the tile it was handed went back');
      assert.ok(noticedMs < 5_000, `noticed after ${noticedMs} ms`);

      const row = await waitFinished(master.store, id);
      assert.equal(row.status, 'completed', row.error ?? '');
      assert.ok(Date.now() - startedAt < leaseMs / 2, 'finished long before the dead worker\'s lease would have expired');
      assert.ok(requeued.length >= 1 && requeued.every((reason) => /worker doomed disconnected/.test(reason)), requeued.join('; '));
      assert.ok(held.size === 1);
    } finally {
      await stopProcesses([...doomed, ...steady]);
      await master.stop({ graceful: false, timeoutMs: 2_000 });
    }
  });
});
