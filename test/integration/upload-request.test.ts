/**
 * A finished request's outputs go to Azure Data Lake, and the row records where. The storage is
 * test/support/fake-datalake-server.ts, a local stand-in for Azure Data Lake Storage Gen2 (Azurite
 * has no dfs endpoint) driven by the real @azure/storage-file-datalake SDK. When the storage is down,
 * the request still completes with its local outputs and says why the upload failed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { loadDataLakeSettings } from '../../master/output/datalake-config.js';
import type { RunningMaster } from '../../master/start-master.js';
import { packageRoot } from '../../shared/package-root.js';
import type { TileWorker } from '../../worker/tile-worker.js';
import { startTestMaster, startWorkers } from '../support/cluster.js';
import { startFakeDataLake, type FakeDataLakeServer } from '../support/fake-datalake-server.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { waitFinished } from '../support/wait-finished.js';

const sample = join(packageRoot(), 'samples', 'L7_ETMs.tif');
const REQUEST = { bands: { red: `${sample}#3`, nir: `${sample}#4` }, indices: ['ndvi'], stripRows: 64 };

describe('uploads of finished requests to Azure Data Lake (local stand-in)', () => {
  let database: TestDatabase;
  let outputDir: string;
  let storage: FakeDataLakeServer;
  let master: RunningMaster;
  let workers: TileWorker[];

  beforeEach(async () => {
    database = await createTestDatabase();
    outputDir = await mkdtemp(join(tmpdir(), 'tessera-upload-test-'));
    storage = await startFakeDataLake({ accountName: 'devstoreaccount1', accountKey: randomBytes(32).toString('base64') });
    const dataLake = loadDataLakeSettings({
      AZURE_STORAGE_CONNECTION_STRING: storage.connectionString,
      AZURE_DATALAKE_FILESYSTEM: 'mosaics-test',
      AZURE_DATALAKE_FOLDER: 'out',
      AZURE_UPLOAD_ATTEMPTS: '2',
    });
    master = await startTestMaster({ databaseUrl: database.url, outputDir, pollIntervalMs: 100 }, { dataLake });
    workers = startWorkers(2, master.grpcPort);
  });
  afterEach(async () => {
    await Promise.all(workers.map((w) => w.stop({ graceful: false })));
    await master.stop({ graceful: false, timeoutMs: 2_000 });
    await storage.close();
    await database.drop();
    await rm(outputDir, { recursive: true, force: true });
  });

  test('every output file is stored byte for byte, with auth on every call, and the row lists the URLs', async () => {
    const id = await master.store.insert(REQUEST);
    const row = await waitFinished(master.store, id);
    assert.equal(row.status, 'completed', row.error ?? '');
    assert.equal(row.uploadError, null);
    const local = (await readdir(join(outputDir, id))).sort();
    assert.ok(local.includes('ndvi.png') && local.includes('manifest.json') && local.includes('ndvi.png.aux.xml'));
    assert.deepEqual(Object.keys(row.uploadUrls ?? {}).sort(), local);
    for (const name of local) {
      const stored = storage.file('mosaics-test', `out/${id}/${name}`);
      assert.ok(stored, `${name} was not uploaded`);
      assert.ok(stored.equals(await readFile(join(outputDir, id, name))), `${name}: stored bytes differ from the local file`);
      assert.match(row.uploadUrls?.[name] ?? '', new RegExp(`/mosaics-test/out/${id}/${name.replace(/\./g, '\\.')}$`));
    }
    assert.ok(storage.calls.length > 0);
    for (const call of storage.calls) assert.ok(call.auth === 'shared-key' && call.authValid, `${call.method} ${call.path} without valid auth`);
  });

  test('storage down: the request completes with its local outputs and an upload_error', async () => {
    storage.setDown(503);
    const id = await master.store.insert(REQUEST);
    const row = await waitFinished(master.store, id);
    assert.equal(row.status, 'completed', row.error ?? '');
    assert.equal(row.uploadUrls, null);
    assert.match(row.uploadError ?? '', /failed after 2 attempts/);
    assert.doesNotMatch(row.uploadError ?? '', /AccountKey|SharedKey [^ ]+:/);
    const local = await readdir(join(outputDir, id));
    assert.ok(local.includes('ndvi.png'), 'the mosaic is on the volume');
  });
});
