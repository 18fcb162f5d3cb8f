/**
 * Timeouts and limits of the master's inputs, on a running master (in-memory store, real gRPC and
 * workers): a source server that stalls after sending its headers fails that request within the
 * read timeout × attempts (plus the backoff between them), whether it stalls on the header or on a
 * block mid-run, and the next queued request completes; a sparse 50000² GeoTIFF is refused by the
 * pixel limit, a multi-band file named without #N by two bands and a truncated file are refused at
 * open time, naming the file.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_RETRY } from '../../master/source/geotiff-opener.js';
import type { RunningMaster } from '../../master/start-master.js';
import { InMemoryRequestStore } from '../../master/store/in-memory-request-store.js';
import type { TileWorker } from '../../worker/tile-worker.js';
import { startTestMaster, startWorkers } from '../support/cluster.js';
import { startFaultyHttpServer, type FaultyHttpServer } from '../support/faulty-http-server.js';
import { writeOddInputs, type OddInputs } from '../support/odd-inputs.js';
import { waitFinished } from '../support/wait-finished.js';
import { writeGeoTiff } from '../support/tiff-writer.js';

const READ_TIMEOUT_MS = 400;
const ATTEMPTS = DEFAULT_RETRY.retries + 1;
/** The opener's waits between attempts: 200, 400, 800 ms. */
const BACKOFF_MS = Array.from({ length: DEFAULT_RETRY.retries }, (_, i) => Math.min(DEFAULT_RETRY.maxDelayMs, DEFAULT_RETRY.initialDelayMs * 2 ** i)).reduce((a, b) => a + b, 0);
/** Claiming, planning and recording around the attempts. */
const SLACK_MS = 1_500;

/** A 256×256 uint16 scene, uncompressed in 64×64 tiles: 128 KB, so its blocks lie past the first 64 KiB header read. */
function biggerScene(seed: number): Buffer {
  const size = 256;
  const samples = new Uint16Array(size * size).map((_, i) => 1000 + ((i * seed) % 3000));
  return writeGeoTiff({ width: size, height: size, sampleType: 'uint16', samples: [samples], tileSize: 64, crs: { epsg: 32633 }, origin: { x: 500_000, y: 5_000_000 }, pixelSize: 10 });
}

describe('timeouts and limits of the inputs', () => {
  let dir: string;
  let inputs: OddInputs;
  let server: FaultyHttpServer;
  let store: InMemoryRequestStore;
  let master: RunningMaster;
  let workers: TileWorker[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-source-limits-'));
    inputs = await writeOddInputs(join(dir, 'in'));
    const red = biggerScene(7);
    const nir = biggerScene(13);
    server = await startFaultyHttpServer(
      new Map([
        ['red.tif', red],
        ['nir.tif', nir],
        ['stall-header/red.tif', red],
        ['stall-blocks/red.tif', red],
      ]),
      { 'stall-header/red.tif': { kind: 'stall' }, 'stall-blocks/red.tif': { kind: 'stall', from: 65_536 } },
    );
    store = new InMemoryRequestStore();
    master = await startTestMaster({ outputDir: join(dir, 'out'), readTimeoutMs: READ_TIMEOUT_MS, pollIntervalMs: 100 }, { store });
    workers = startWorkers(2, master.grpcPort, 'limits');
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.stop({ graceful: false })));
    await master.stop({ graceful: false, timeoutMs: 2_000 });
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const good = (): Promise<string> => store.insert({ bands: { red: server.url('red.tif'), nir: server.url('nir.tif') }, indices: ['ndvi'] });

  for (const where of ['header', 'blocks'] as const) {
    test(`a server that stalls after its headers (on the ${where}) fails the request within the read timeout × ${ATTEMPTS}, and the next request completes`, async () => {
      const path = `stall-${where}/red.tif`;
      const stalled = await store.insert({ bands: { red: server.url(path, 'sig=SECRET'), nir: server.url('nir.tif') }, indices: ['ndvi'] });
      const next = await good();

      const failed = await waitFinished(store, stalled, 60_000);
      assert.equal(failed.status, 'failed');
      const message = failed.error ?? '';
      assert.match(message, new RegExp(`sent nothing for ${READ_TIMEOUT_MS} ms \\(READ_TIMEOUT_MS\\) \\(gave up after ${ATTEMPTS} attempts\\)`));
      assert.match(message, new RegExp(path.replace('/', '\\/')));
      assert.doesNotMatch(message, /SECRET/);
      // Each stalled range was tried ATTEMPTS times at most (block reads run side by side; the first to give up ends the rest).
      const stalls = new Map<string, number>();
      for (const r of server.requests) if (r.path === path && r.outcome === 'stall') stalls.set(r.range ?? '', (stalls.get(r.range ?? '') ?? 0) + 1);
      assert.ok(stalls.size > 0);
      assert.equal(Math.max(...stalls.values()), ATTEMPTS, `attempts per stalled range: ${[...stalls.values()].join(', ')}`);
      const ranMs = failed.finishedAt!.getTime() - failed.startedAt!.getTime();
      const bound = READ_TIMEOUT_MS * ATTEMPTS + BACKOFF_MS + SLACK_MS;
      assert.ok(ranMs >= READ_TIMEOUT_MS * ATTEMPTS, `failed after ${ranMs} ms: the timeout was honoured`);
      assert.ok(ranMs < bound, `failed after ${ranMs} ms, within ${bound} ms`);

      const completed = await waitFinished(store, next, 60_000);
      assert.equal(completed.status, 'completed', completed.error ?? '');
    });
  }

  test('a sparse 50000 × 50000 tiled GeoTIFF is refused by MAX_REQUEST_PIXELS at open time', async () => {
    // One single-band file for both bands keeps the fixture to one file; the pixel limit is what refuses it.
    const id = await store.insert({ bands: { red: inputs.sparseHuge, nir: inputs.sparseHuge }, indices: ['ndvi'] });
    const row = await waitFinished(store, id, 30_000);
    assert.equal(row.status, 'failed');
    assert.match(row.error ?? '', /50000 × 50000 = 2500000000 pixels, more than the 250000000 this master allows \(MAX_REQUEST_PIXELS\)/);
    assert.equal(row.tilesTotal, null, 'nothing was planned');
  });

  test('a multi-band file named without #N by two bands is refused, saying to pick bands with #N', async () => {
    const id = await store.insert({ bands: { red: inputs.fourBands, nir: inputs.fourBands }, indices: ['ndvi'] });
    const row = await waitFinished(store, id, 30_000);
    assert.equal(row.status, 'failed');
    assert.match(row.error ?? '', /red and nir both read band 1 of ".*four-bands\.tif" \(a reference without #N reads band 1\), which has 4 bands: pick the band each of them is with #N/);
    const ok = await store.insert({ bands: { red: `${inputs.fourBands}#3`, nir: `${inputs.fourBands}#4` }, indices: ['ndvi'] });
    assert.equal((await waitFinished(store, ok, 30_000)).status, 'completed');
  });

  test('a truncated GeoTIFF is refused when its band is opened, naming the file', async () => {
    const id = await store.insert({ bands: { red: inputs.truncated, nir: inputs.nir }, indices: ['ndvi'] });
    const row = await waitFinished(store, id, 30_000);
    assert.equal(row.status, 'failed');
    assert.match(row.error ?? '', /red: cannot open ".*truncated\.tif" as a GeoTIFF: the file is truncated: it is \d+ bytes long, but its tile \d+ of 16 ends at byte \d+/);
    assert.equal(row.tilesTotal, null, 'refused before planning, not by the workers');
  });
});
