/**
 * Kill -9 one of two worker processes in the middle of a multi-tile request: its leased tile is
 * handed out again when the lease expires, the request completes, and the mosaics are identical to
 * an undisturbed run's.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
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

  test('the request still completes with output identical to an undisturbed run', async () => {
    const master = await startTestMaster({ databaseUrl: database.url, outputDir, pollIntervalMs: 100, tileLeaseMs: 1_000 });
    try {
      // Undisturbed run: two workers, nobody killed.
      const calm = startWorkers(2, master.grpcPort, 'calm');
      const calmId = await master.store.insert(REQUEST);
      const calmRow = await waitFinished(master.store, calmId);
      await Promise.all(calm.map((w) => w.stop()));
      assert.equal(calmRow.status, 'completed', calmRow.error ?? '');

      // Disturbed run: two worker processes, one killed with SIGKILL part-way.
      const processes = spawnWorkerProcesses(2, master.grpcPort);
      try {
        const id = await master.store.insert(REQUEST);
        let killedAt = -1;
        for (;;) {
          const row = await master.store.get(id);
          assert.ok(row);
          assert.notEqual(row.status, 'failed', row.error ?? '');
          if (row.tilesTotal && row.tilesDone >= 40) {
            assert.ok(row.tilesDone < row.tilesTotal - 50, `too late to kill: ${row.tilesDone}/${row.tilesTotal}`);
            killedAt = row.tilesDone;
            processes[0]?.kill('SIGKILL');
            break;
          }
          await sleep(10);
        }
        const row = await waitFinished(master.store, id);
        assert.equal(row.status, 'completed', row.error ?? '');
        assert.equal(row.tilesDone, row.tilesTotal);
        assert.ok(killedAt > 0);
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
});
