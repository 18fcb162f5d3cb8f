/**
 * The stitched mosaics do not depend on who computed which strip, or when its result arrived:
 * `tessera run` with 1, 2 and 3 worker processes gives byte-identical PNGs; and a runner whose
 * results all arrive in reverse order, with a buffer bound far smaller than one result, gives the
 * same bytes again while holding at most that bound in memory (the rest waits on disk).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TileDispatcher } from '../../master/dispatch/tile-dispatcher.js';
import { RequestRunner } from '../../master/request-runner.js';
import { InMemoryRequestStore } from '../../master/store/in-memory-request-store.js';
import { createLogger } from '../../shared/logger.js';
import { packageRoot } from '../../shared/package-root.js';
import type { SubmitResultRequest__Output } from '../../shared/proto/tile-service.js';
import { processTile } from '../../worker/tile-processor.js';
import { lastJsonLine, runCli } from '../support/cli.js';
import { chunksOverTheWire, resultOverTheWire, taskOverTheWire } from '../support/over-the-wire.js';
import { compareCodes, referenceCodes } from '../support/reference-index.js';

const log = createLogger('test', 'silent');
const sample = join(packageRoot(), 'samples', 'L7_ETMs.tif');
const BANDS = { green: `${sample}#2`, red: `${sample}#3`, nir: `${sample}#4`, swir16: `${sample}#5` };
const STRIP_ROWS = 6; // 59 strips of the 352-row sample
const FILES = ['ndvi.png', 'ndvi_color.png', 'ndsi.png', 'ndsi_color.png'] as const;

async function digests(folder: string): Promise<Record<string, string>> {
  const entries = await Promise.all(FILES.map(async (name) => [name, createHash('sha256').update(await readFile(join(folder, name))).digest('hex')]));
  return Object.fromEntries(entries);
}

describe('strip order and worker count do not change a byte', () => {
  const out: string[] = [];
  const byWorkers = new Map<number, { digests: Record<string, string>; outputDir: string; workerTiles: Record<string, number> }>();

  before(async () => {
    for (const workers of [1, 2, 3]) {
      const dir = await mkdtemp(join(tmpdir(), `tessera-order-${workers}-`));
      out.push(dir);
      const args = ['run', '--workers', String(workers), '--strip-rows', String(STRIP_ROWS), '--index', 'ndvi,ndsi', '--out', dir, '--json'];
      for (const [name, path] of Object.entries(BANDS)) args.push('--band', `${name}=${path}`);
      const result = await runCli(args);
      assert.equal(result.code, 0, `tessera run --workers ${workers} failed:\n${result.stderr}`);
      const summary = lastJsonLine<{ outputDir: string; workerTiles: Record<string, number> }>(result.stdout);
      byWorkers.set(workers, { digests: await digests(summary.outputDir), outputDir: summary.outputDir, workerTiles: summary.workerTiles });
    }
  });
  after(async () => {
    await Promise.all(out.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  test('1, 2 and 3 workers: identical PNGs, and the work really was shared', () => {
    const one = byWorkers.get(1)!;
    for (const workers of [2, 3]) {
      const run = byWorkers.get(workers)!;
      assert.deepEqual(run.digests, one.digests, `${workers} workers`);
      assert.ok(Object.keys(run.workerTiles).length >= 2, `${workers} workers: strips by ${JSON.stringify(run.workerTiles)}`);
    }
  });

  describe('results in reverse order with a buffer bound smaller than one result', () => {
    let outputDir: string;
    const BOUND = 512;

    before(async () => {
      outputDir = await mkdtemp(join(tmpdir(), 'tessera-reverse-'));
    });
    after(async () => {
      await rm(outputDir, { recursive: true, force: true });
    });

    test('same bytes as the in-order runs; memory held stays within the bound', async () => {
      const store = new InMemoryRequestStore(); // the queue is not what this test is about
      const dispatcher = new TileDispatcher({ leaseMs: 60_000, maxAttempts: 1, log });
      const runner = new RequestRunner({
        store,
        dispatcher,
        masterId: 'm1',
        outputDir,
        requestDefaults: { earthdailyBands: { blue: 1, green: 2, red: 3, nir: 4 } },
        stripPixels: 16_000_000,
        stripBufferBytes: BOUND,
        maxBboxDeg: 0.42,
        maxRequestPixels: 100_000_000,
        maxInflightTiles: 1_000,
        heartbeatMs: 5_000,
        checkpointMs: 1_000,
        resumable: true,
        maxAttempts: 5,
        log,
      });
      const id = await store.insert({ bands: BANDS, indices: ['ndvi', 'ndsi'], stripRows: STRIP_ROWS });
      const row = await store.claimNext('m1', 60_000);
      assert.ok(row);
      const running = runner.process(row, new AbortController().signal);

      // One in-process worker takes every strip, computes them all, then answers last strip first.
      const total = Math.ceil(352 / STRIP_ROWS);
      const results: SubmitResultRequest__Output[] = [];
      while (results.length < total) {
        const offered = await dispatcher.nextTask('w', 5_000, new AbortController().signal);
        assert.ok(offered, `strip ${results.length} was offered`);
        const task = taskOverTheWire(offered);
        const claim = { workerId: 'w', taskId: task.taskId, attempt: task.attempt };
        const processed = await processTile(task, chunksOverTheWire(dispatcher.openSources(claim, new AbortController().signal)));
        results.push(resultOverTheWire({ ...claim, tiles: processed.tiles, timings: processed.timings }));
      }
      for (const result of results.reverse()) assert.deepEqual(await dispatcher.submit(result), { accepted: true, reason: '' });
      await running;

      const done = await store.get(id);
      assert.equal(done?.status, 'completed', done?.error ?? '');
      assert.deepEqual(await digests(done!.outputDir!), byWorkers.get(1)!.digests);
      const manifest = JSON.parse(await readFile(join(done!.outputDir!, 'manifest.json'), 'utf8')) as { tiles: { peakBufferedBytes: number; spilledStrips: number } };
      assert.ok(manifest.tiles.peakBufferedBytes <= BOUND, `held ${manifest.tiles.peakBufferedBytes} bytes in memory, bound ${BOUND}`);
      assert.ok(manifest.tiles.spilledStrips >= total - 1, `${manifest.tiles.spilledStrips} strips waited on disk`);
    });
  });

  for (const [index, bandA, bandB] of [['ndvi', 4, 3], ['ndsi', 2, 5]] as const) {
    test(`${index}: the stitched mosaic equals an independent per-pixel computation`, async () => {
      const sharp = (await import('sharp')).default;
      const { data } = await sharp(join(byWorkers.get(3)!.outputDir, `${index}.png`)).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
      const agreement = compareCodes(new Uint8Array(data), (await referenceCodes(sample, bandA, bandB)).codes);
      assert.equal(agreement.nodataMismatches, 0);
      assert.equal(agreement.withinOne, agreement.total);
    });
  }
});
