/**
 * A master that asks for ISA-L strips (STRIP_DEFLATE=isal) and workers that cannot load ISA-L: the
 * request fails, and its row says what the master asked, why the workers cannot, and both fixes;
 * the master stays up for the next request. Real gRPC over loopback and a real RequestRunner; only
 * the workers' ISA-L is made unloadable (the machine may have it installed).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TileDispatcher } from '../../master/dispatch/tile-dispatcher.js';
import { startTileServer, type TileServer } from '../../master/dispatch/tile-server.js';
import { RequestRunner } from '../../master/request-runner.js';
import { InMemoryRequestStore } from '../../master/store/in-memory-request-store.js';
import { createLogger } from '../../shared/logger.js';
import { IsalUnavailableError } from '../../shared/native/isal.js';
import { packageRoot } from '../../shared/package-root.js';
import { StripDeflaters } from '../../shared/png/strip-deflater.js';
import { createTileServiceClient } from '../../shared/proto/tile-service.js';
import { ZlibInflater } from '../../shared/raster/block-inflater.js';
import type { StripDeflate } from '../../shared/types.js';
import { TileWorker } from '../../worker/tile-worker.js';

const sample = join(packageRoot(), 'samples', 'L7_ETMs.tif');
const REQUEST = { bands: { green: `${sample}#2`, red: `${sample}#3`, nir: `${sample}#4`, swir16: `${sample}#5` }, indices: ['ndvi', 'ndsi'], stripRows: 60 };
const silent = createLogger('test', 'silent');

describe('STRIP_DEFLATE=isal on a master whose workers lack ISA-L', () => {
  let outputDir: string;
  let server: TileServer;
  let worker: TileWorker;
  const store = new InMemoryRequestStore();
  const dispatcher = new TileDispatcher({ leaseMs: 30_000, maxAttempts: 3, log: silent });
  const runner = (stripDeflate: StripDeflate): RequestRunner =>
    new RequestRunner({
      store,
      dispatcher,
      masterId: 'm',
      outputDir,
      requestDefaults: { earthdailyBands: { blue: 1, green: 2, red: 3, nir: 4 } },
      stripPixels: 16_000_000,
      stripDeflate,
      stripBufferBytes: 1 << 20,
      maxBboxDeg: 0.42,
      maxRequestPixels: 100_000_000,
      maxInflightTiles: 4,
      heartbeatMs: 1_000,
      checkpointMs: 1_000,
      resumable: false,
      maxAttempts: 1,
      log: silent,
    });

  before(async () => {
    outputDir = await mkdtemp(join(tmpdir(), 'tessera-strip-deflate-missing-'));
    server = await startTileServer({ dispatcher, listen: '127.0.0.1:0', longPollMs: 1_000, maxMessageBytes: 64 << 20, log: silent });
    const missing = (): Promise<never> => Promise.reject(new IsalUnavailableError('libisal.so.2 cannot be loaded (Debian: apt-get install libisal2): not on this worker'));
    worker = new TileWorker({
      client: createTileServiceClient(`127.0.0.1:${server.port}`, 64 << 20),
      workerId: 'without-isal',
      concurrency: 1,
      pollDeadlineMs: 5_000,
      log: silent,
      codecs: { inflater: new ZlibInflater(), deflaters: new StripDeflaters(missing) },
    });
    worker.start();
  });
  after(async () => {
    await worker.stop({ graceful: false });
    await server.stop({ timeoutMs: 500 });
    await rm(outputDir, { recursive: true, force: true });
  });

  test('the request fails with a message naming what was asked, why the workers cannot, and both fixes', async () => {
    const id = await store.insert(REQUEST);
    await runner('isal').process((await store.claimNext('m', 60_000))!, new AbortController().signal);
    const row = await store.get(id);
    assert.equal(row?.status, 'failed');
    assert.match(row?.error ?? '', /the master asks for strips compressed by ISA-L \(STRIP_DEFLATE=isal\), and this worker cannot load it: libisal\.so\.2 cannot be loaded \(Debian: apt-get install libisal2\)/);
    assert.match(row?.error ?? '', /install it here, or set STRIP_DEFLATE=zlib on the master/);
  });

  test('the same master and worker then complete a request that asks for zlib strips', async () => {
    const id = await store.insert(REQUEST);
    await runner('zlib').process((await store.claimNext('m', 60_000))!, new AbortController().signal);
    const row = await store.get(id);
    assert.equal(row?.status, 'completed', row?.error ?? '');
  });
});
