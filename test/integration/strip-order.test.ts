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
import { packageRoot } from '../../shared/package-root.js';
import { lastJsonLine, runCli } from '../support/cli.js';
import { runInReverseOrder } from '../support/reverse-order-run.js';
import { compareCodes, referenceCodes } from '../support/reference-index.js';

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
      // One in-process worker takes every strip, computes them all, then answers last strip first.
      const total = Math.ceil(352 / STRIP_ROWS);
      const done = await runInReverseOrder({
        request: { bands: BANDS, indices: ['ndvi', 'ndsi'], stripRows: STRIP_ROWS },
        outputDir,
        strips: total,
        stripBufferBytes: BOUND,
      });
      assert.equal(done.status, 'completed', done.error ?? '');
      assert.deepEqual(await digests(done.outputDir!), byWorkers.get(1)!.digests);
      const manifest = JSON.parse(await readFile(join(done.outputDir!, 'manifest.json'), 'utf8')) as { tiles: { peakBufferedBytes: number; spilledStrips: number } };
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
