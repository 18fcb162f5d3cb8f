/**
 * The master on a given store (the in-memory one a one-shot run uses): no database is opened — the
 * configured DATABASE_URL points at nothing and is never tried — a request inserted into the store
 * is woken up, claimed and completed by real workers over gRPC, and stop() leaves the store to its
 * owner.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { InMemoryRequestStore } from '../../master/store/in-memory-request-store.js';
import { packageRoot } from '../../shared/package-root.js';
import { startTestMaster, startWorkers } from '../support/cluster.js';
import { waitFinished } from '../support/wait-finished.js';

const sample = join(packageRoot(), 'samples', 'L7_ETMs.tif');

test('a master on an in-memory store opens no database and completes a request', async (t) => {
  const outputDir = await mkdtemp(join(tmpdir(), 'tessera-memory-master-'));
  t.after(() => rm(outputDir, { recursive: true, force: true }));
  const store = new InMemoryRequestStore();
  // Nothing listens on port 1: a master that tried this database would fail to start.
  const master = await startTestMaster(
    { databaseUrl: 'postgres://nobody@127.0.0.1:1/none', outputDir, pollIntervalMs: 600_000 },
    { store },
  );
  const workers = startWorkers(2, master.grpcPort, 'memory');
  try {
    assert.equal(master.store, store);
    assert.equal(master.embedded, false);
    assert.equal(master.databaseUrl, undefined);

    // Polling every 10 minutes: only the store's wake-up gets this claimed in time.
    const id = await store.insert({ bands: { red: `${sample}#3`, nir: `${sample}#4` }, indices: ['ndvi'], stripRows: 64 });
    const row = await waitFinished(store, id, 60_000);
    assert.equal(row.status, 'completed', row.error ?? '');
    assert.equal(row.claimedBy, master.masterId);
    assert.equal(row.tilesDone, row.tilesTotal);
    assert.ok(row.outputDir && existsSync(join(row.outputDir, 'ndvi.png')));
    const manifest = JSON.parse(await readFile(join(row.outputDir, 'manifest.json'), 'utf8')) as { requestId: string };
    assert.equal(manifest.requestId, id);
  } finally {
    await Promise.all(workers.map((w) => w.stop({ graceful: false })));
    await master.stop({ graceful: false, timeoutMs: 2_000 });
  }
  assert.equal((await store.get('1'))?.status, 'completed', 'the store outlives the master');
});
