/**
 * `tessera run --workers 2` on the real Landsat 7 sample cut into several strips: the stitched
 * mosaics are valid PNGs (pngcheck), equal an independent per-pixel computation, the colour maps
 * are indexed PNGs sharing the grey files' pixel data, and GDAL (when installed) reads them with
 * the right CRS and bounds.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { packageRoot } from '../../shared/package-root.js';
import { lastJsonLine, runCli } from '../support/cli.js';
import { compareCodes, referenceCodes } from '../support/reference-index.js';
import { hasGdal, hasPngcheck } from '../support/gdal.js';

const sample = join(packageRoot(), 'samples', 'L7_ETMs.tif');
// The sample's georeferencing, read independently with `gdalinfo samples/L7_ETMs.tif`.
const SAMPLE = { width: 349, height: 352, minX: 288776.25, maxY: 9120760.75, pixel: 28.5, epsg: '31985' };

interface Summary {
  id: string;
  status: string;
  error: string | null;
  outputDir: string;
  outputs: Record<string, { png: string; colorPng: string; worldFile: string; auxXml: string } | string>;
  tilesTotal: number;
  tilesDone: number;
  workerTiles: Record<string, number>;
  timings: Record<string, number>;
}


/** Pixels as stored: `channels` is the file's own count (sharp's raw output would expand grey to sRGB). */
async function greyPixels(path: string): Promise<{ width: number; height: number; data: Uint8Array; channels: number }> {
  const { channels = 0 } = await sharp(path).metadata();
  const image = channels === 1 ? sharp(path).extractChannel(0) : sharp(path);
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, channels);
  return { width: info.width, height: info.height, data: new Uint8Array(data), channels };
}

describe('tessera run on the Landsat 7 sample', () => {
  let out: string;
  let summary: Summary;

  before(async () => {
    out = await mkdtemp(join(tmpdir(), 'tessera-run-test-'));
    const result = await runCli([
      'run',
      '--workers', '2',
      '--strip-rows', '128',
      '--band', `green=${sample}#2`,
      '--band', `red=${sample}#3`,
      '--band', `nir=${sample}#4`,
      '--band', `swir16=${sample}#5`,
      '--index', 'ndvi,ndsi',
      '--out', out,
      '--json',
    ]);
    assert.equal(result.code, 0, `tessera run failed:\n${result.stderr}\n${result.stdout}`);
    summary = lastJsonLine<Summary>(result.stdout);
  });

  after(async () => {
    await rm(out, { recursive: true, force: true });
  });

  test('completes with several strips shared by both workers', () => {
    assert.equal(summary.status, 'completed');
    assert.equal(summary.error, null);
    // 128 rows rounded down to whole 3-row file strips: 126-row strips.
    assert.equal(summary.tilesTotal, Math.ceil(SAMPLE.height / 126));
    assert.equal(summary.tilesDone, summary.tilesTotal);
    const counted = Object.values(summary.workerTiles).reduce((a, b) => a + b, 0);
    assert.equal(counted, summary.tilesTotal);
  });

  test('the row records stage timings, and the workers\' per-tile decode/compute/encode times arrived', () => {
    for (const stage of ['openMs', 'tilesMs', 'mergeMs', 'totalMs']) {
      assert.ok((summary.timings[stage] ?? 0) > 0, `${stage}: ${summary.timings[stage]}`);
    }
    assert.ok((summary.timings['totalMs'] ?? 0) >= (summary.timings['tilesMs'] ?? 0) + (summary.timings['mergeMs'] ?? 0));
    for (const stage of ['workerDecodeMs', 'workerComputeMs', 'workerEncodeMs']) {
      assert.ok((summary.timings[stage] ?? 0) > 0, `${stage} (summed from the workers' reports): ${summary.timings[stage]}`);
    }
  });

  for (const [index, bandA, bandB] of [
    ['ndvi', 4, 3],
    ['ndsi', 2, 5],
  ] as const) {
    test(`${index}.png equals an independent per-pixel computation`, async () => {
      const files = summary.outputs[index];
      assert.ok(typeof files === 'object', `no ${index} outputs`);
      const png = await greyPixels(files.png);
      assert.equal(png.channels, 1, 'grey PNG');
      assert.equal(png.width, SAMPLE.width);
      assert.equal(png.height, SAMPLE.height);
      const expected = await referenceCodes(sample, bandA, bandB);
      const agreement = compareCodes(png.data, expected.codes);
      assert.equal(agreement.nodataMismatches, 0, 'no-data identical');
      assert.equal(agreement.withinOne, agreement.total, '100 % within ±1');
      assert.ok(agreement.exact / agreement.total >= 0.9999, `≥ 99.99 % exact (${agreement.exact}/${agreement.total})`);
      // The index must vary: a constant image would be a broken pipeline, not a match.
      assert.ok(new Set(png.data).size > 50);
    });

    test(`${index}_color.png is an indexed PNG with no-data transparent`, async () => {
      const files = summary.outputs[index];
      assert.ok(typeof files === 'object');
      const meta = await sharp(files.colorPng).metadata();
      assert.equal(meta.isPalette, true, 'colour type 3');
      const grey = await greyPixels(files.png);
      const colour = await greyPixels(files.colorPng);
      assert.equal(colour.channels, 4);
      for (let i = 0; i < grey.data.length; i += 1) {
        const alpha = colour.data[i * 4 + 3];
        assert.equal(alpha === 0, grey.data[i] === 0, `pixel ${i}: alpha ${alpha}, code ${grey.data[i]}`);
      }
    });
  }

  test('the world file puts the upper-left pixel centre at the sample origin + half a pixel', async () => {
    const files = summary.outputs['ndvi'];
    assert.ok(typeof files === 'object');
    const [a, , , e, c, f] = (await readFile(files.worldFile, 'utf8')).trim().split(/\s+/).map(Number);
    assert.ok(Math.abs((a as number) - SAMPLE.pixel) < 1e-6);
    assert.ok(Math.abs((e as number) + SAMPLE.pixel) < 1e-6);
    assert.ok(Math.abs((c as number) - (SAMPLE.minX + SAMPLE.pixel / 2)) < 1e-3);
    assert.ok(Math.abs((f as number) - (SAMPLE.maxY - SAMPLE.pixel / 2)) < 1e-3);
  });

  test('the manifest records request, CRS, stats and tiles; no partial files are left', async () => {
    const manifestPath = summary.outputs['manifest'];
    assert.equal(typeof manifestPath, 'string');
    const manifest = JSON.parse(await readFile(manifestPath as string, 'utf8')) as {
      crs: { epsg: number; wkt: string };
      stats: Record<string, { validPixels: number; min: number; mean: number; max: number }>;
      tiles: { total: number; byWorker: Record<string, number> };
      timings: Record<string, number>;
    };
    // The master's CPU for the whole request, one figure in the row and the manifest.
    assert.ok((manifest.timings['masterCpuMs'] ?? 0) > 0, `masterCpuMs: ${manifest.timings['masterCpuMs']}`);
    assert.equal(summary.timings['masterCpuMs'], manifest.timings['masterCpuMs']);
    assert.equal(manifest.crs.epsg, 31985);
    assert.match(manifest.crs.wkt, /31985/);
    assert.equal(manifest.tiles.total, summary.tilesTotal);
    for (const index of ['ndvi', 'ndsi']) {
      const stats = manifest.stats[index];
      assert.ok(stats && stats.validPixels > 0);
      assert.ok(stats.min >= -1 && stats.max <= 1 && stats.min <= stats.mean && stats.mean <= stats.max);
    }
    const names = await readdir(out);
    assert.deepEqual(names.filter((n) => n.includes('partial') || n.includes('tmp')), []);
    const published = await readdir(dirname(manifestPath as string));
    assert.deepEqual(published.filter((n) => !/^(ndvi|ndsi)(_color)?\.(png|pgw|png\.aux\.xml)$|^(ndvi|ndsi)_preview\.png$|^manifest\.json$/.test(n)), [], 'only the mosaics, their sidecars, previews and the manifest are published (no checkpoint)');
  });

  test('pngcheck accepts every mosaic', { skip: hasPngcheck() ? false : 'pngcheck is not installed (apt-get install pngcheck)' }, () => {
    for (const index of ['ndvi', 'ndsi']) {
      const files = summary.outputs[index];
      assert.ok(typeof files === 'object');
      for (const path of [files.png, files.colorPng]) execFileSync('pngcheck', ['-q', path], { encoding: 'utf8' });
    }
  });

  test('GDAL opens the PNG with the right CRS and bounds', { skip: hasGdal() ? false : 'GDAL is not installed (apt-get install gdal-bin)' }, () => {
    const files = summary.outputs['ndvi'];
    assert.ok(typeof files === 'object' && existsSync(files.auxXml));
    const info = JSON.parse(execFileSync('gdalinfo', ['-json', files.png], { encoding: 'utf8' })) as {
      size: [number, number];
      coordinateSystem: { wkt: string };
      cornerCoordinates: { upperLeft: [number, number]; lowerRight: [number, number] };
    };
    assert.deepEqual(info.size, [SAMPLE.width, SAMPLE.height]);
    assert.match(info.coordinateSystem.wkt, /ID\["EPSG",31985\]|AUTHORITY\["EPSG","31985"\]/);
    const [ulx, uly] = info.cornerCoordinates.upperLeft;
    const [lrx, lry] = info.cornerCoordinates.lowerRight;
    assert.ok(Math.abs(ulx - SAMPLE.minX) < 0.01 && Math.abs(uly - SAMPLE.maxY) < 0.01, `upper left ${ulx}, ${uly}`);
    assert.ok(Math.abs(lrx - (SAMPLE.minX + SAMPLE.width * SAMPLE.pixel)) < 0.01);
    assert.ok(Math.abs(lry - (SAMPLE.maxY - SAMPLE.height * SAMPLE.pixel)) < 0.01);
  });
});
