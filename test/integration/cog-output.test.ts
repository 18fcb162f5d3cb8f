/**
 * Cloud-Optimized GeoTIFF output (formats png,cog): on a 1300 × 1100 scene (UTM 33N, 10 m, tiled
 * in 256-px blocks, strips of 256 rows, so every 512-px tile of the COG is assembled from pieces
 * of two or three strips), `<index>.tif` opens in GDAL with the scene's CRS and bounds, LAYOUT=COG,
 * 512-px blocks, no-data 0 and two overviews; GDAL's validate_cloud_optimized_geotiff.py accepts
 * it; its pixels (read with geotiff.js) equal the PNG's codes at full resolution and, decimated
 * by 2 and 4, in its overviews; it is byte-identical with 1 and 2 workers and with every result
 * arriving in reverse order; and a request for cog only publishes the same COG and no PNG.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fromFile } from 'geotiff';
import { lastJsonLine, runCli } from '../support/cli.js';
import { hasGdal } from '../support/gdal.js';
import { runInReverseOrder } from '../support/reverse-order-run.js';
import { decodeGrey } from '../support/png-tools.js';
import { prng } from '../support/prng.js';
import { writeGeoTiff } from '../support/tiff-writer.js';

const WIDTH = 1300;
const HEIGHT = 1100;
const STRIP_ROWS = 256;
const ORIGIN = { x: 600_000, y: 5_100_000 };
const PIXEL = 10;
const EPSG = 32633;

const sha = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** A red and a nir band with structure and noise, and a no-data corner (red = 0). */
function scene(): Buffer {
  const rand = prng(12);
  const red = new Uint16Array(WIDTH * HEIGHT);
  const nir = new Uint16Array(WIDTH * HEIGHT);
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const i = y * WIDTH + x;
      red[i] = x < 100 && y < 80 ? 0 : 500 + ((x * 3 + y) % 1500) + Math.floor(rand() * 200);
      nir[i] = 800 + ((x + y * 2) % 3000) + Math.floor(rand() * 300);
    }
  }
  return writeGeoTiff({ width: WIDTH, height: HEIGHT, samples: [red, nir], sampleType: 'uint16', tileSize: 256, compression: 8, predictor: 2, crs: { epsg: EPSG }, origin: ORIGIN, pixelSize: PIXEL, nodata: 0 });
}

/** validate_cloud_optimized_geotiff.py and a Python that imports osgeo, or why not. */
function validator(): { script: string; python: string } | string {
  const known = ['/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_cloud_optimized_geotiff.py', '/usr/share/doc/python3-gdal/examples/validate_cloud_optimized_geotiff.py'];
  let script = known.find((path) => existsSync(path));
  if (!script) {
    try {
      script = execFileSync('dpkg', ['-L', 'python3-gdal'], { encoding: 'utf8' }).split('\n').find((line) => line.endsWith('validate_cloud_optimized_geotiff.py'));
    } catch {
      // no dpkg, or no python3-gdal
    }
  }
  if (!script) return 'validate_cloud_optimized_geotiff.py not found (apt-get install python3-gdal)';
  for (const python of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(python, ['-c', 'from osgeo import gdal'], { stdio: 'ignore' });
      return { script, python };
    } catch {
      // try the next
    }
  }
  return 'no Python that imports osgeo (apt-get install python3-gdal)';
}

describe('Cloud-Optimized GeoTIFF output', { timeout: 240_000 }, () => {
  let dir: string;
  let bands: Record<string, string>;
  const runs = new Map<string, { folder: string; workerTiles: Record<string, number>; outputs: Record<string, Record<string, string>> }>();

  const run = async (name: string, workers: number, formats: string): Promise<void> => {
    const args = ['run', '--workers', String(workers), '--strip-rows', String(STRIP_ROWS), '--index', 'ndvi', '--formats', formats, '--out', join(dir, name), '--json'];
    for (const [band, path] of Object.entries(bands)) args.push('--band', `${band}=${path}`);
    const result = await runCli(args);
    assert.equal(result.code, 0, `tessera run (${name}) failed:\n${result.stderr}`);
    const summary = lastJsonLine<{ outputDir: string; workerTiles: Record<string, number>; outputs: Record<string, Record<string, string>> }>(result.stdout);
    runs.set(name, { folder: summary.outputDir, workerTiles: summary.workerTiles, outputs: summary.outputs });
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-cog-'));
    const file = join(dir, 'scene.tif');
    await writeFile(file, scene());
    bands = { red: `${file}#1`, nir: `${file}#2` };
    await run('one', 1, 'png,cog');
    await run('two', 2, 'png,cog');
    await run('cog-only', 2, 'cog');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const cogOf = (name: string): string => join(runs.get(name)!.folder, 'ndvi.tif');

  test('the outputs and the manifest list the COG beside the PNGs', async () => {
    const one = runs.get('one')!;
    assert.equal(one.outputs['ndvi']?.['cog'], cogOf('one'));
    assert.equal(one.outputs['ndvi']?.['png'], join(one.folder, 'ndvi.png'));
    const manifest = JSON.parse(await readFile(join(one.folder, 'manifest.json'), 'utf8')) as { formats: string[]; cog: { files: Record<string, string>; tileSize: number; overviews: number[][]; resampling: string } };
    assert.deepEqual(manifest.formats, ['png', 'cog']);
    assert.deepEqual(manifest.cog.files, { ndvi: 'ndvi.tif' });
    assert.equal(manifest.cog.tileSize, 512);
    assert.deepEqual(manifest.cog.overviews, [[650, 550], [325, 275]]);
    assert.equal(manifest.cog.resampling, 'nearest');
    assert.ok(!(await readdir(one.folder)).some((name) => name.endsWith('.cog-pieces')), 'staging files were published');
  });

  test('byte-identical with 1 and 2 workers (and the work was shared)', async () => {
    const two = runs.get('two')!;
    assert.ok(Object.keys(two.workerTiles).length >= 2, `strips by ${JSON.stringify(two.workerTiles)}`);
    assert.equal(sha(await readFile(cogOf('two'))), sha(await readFile(cogOf('one'))));
  });

  test('cog only: the same COG, and no PNG published', async () => {
    const only = runs.get('cog-only')!;
    assert.equal(sha(await readFile(cogOf('cog-only'))), sha(await readFile(cogOf('one'))));
    const names = await readdir(only.folder);
    assert.ok(!names.some((name) => /\.(png|pgw)$/.test(name) && !name.endsWith('_preview.png')), `published: ${names.join(', ')}`);
    assert.deepEqual(Object.keys(only.outputs['ndvi'] ?? {}), ['cog']);
  });

  test('its pixels equal the PNG codes; its overviews are the codes decimated by 2 and 4 (nearest)', async () => {
    const png = await decodeGrey(join(runs.get('one')!.folder, 'ndvi.png'));
    assert.equal(png.channels, 1);
    const tiff = await fromFile(cogOf('one'));
    assert.equal(await tiff.getImageCount(), 3);
    for (const [level, step] of [[0, 1], [1, 2], [2, 4]] as const) {
      const image = await tiff.getImage(level);
      const width = Math.ceil(WIDTH / step);
      const height = Math.ceil(HEIGHT / step);
      assert.deepEqual([image.getWidth(), image.getHeight(), image.getTileWidth(), image.getTileHeight()], [width, height, 512, 512]);
      const [pixels] = (await image.readRasters({ interleave: false })) as unknown as [Uint8Array];
      let mismatches = 0;
      for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (pixels[y * width + x] !== png.codes[y * step * WIDTH + x * step]) mismatches++;
      assert.equal(mismatches, 0, `level ${level}: ${mismatches} pixels differ from the PNG's`);
    }
    assert.ok(png.codes.includes(0) && png.codes.some((code) => code > 0), 'the scene has no-data and valid pixels');
  });

  test('GDAL: the CRS, the bounds, LAYOUT=COG, DEFLATE, 512-px blocks, no-data 0, two overviews', (t) => {
    if (!hasGdal()) return t.skip('gdalinfo not installed (apt-get install gdal-bin)');
    const info = JSON.parse(execFileSync('gdalinfo', ['-json', cogOf('one')], { encoding: 'utf8' })) as {
      size: number[];
      stac?: { 'proj:epsg'?: number };
      coordinateSystem: { wkt: string };
      cornerCoordinates: { upperLeft: number[]; lowerRight: number[] };
      metadata: { IMAGE_STRUCTURE?: Record<string, string> };
      bands: { block: number[]; type: string; noDataValue?: number; overviews?: { size: number[] }[] }[];
    };
    assert.deepEqual(info.size, [WIDTH, HEIGHT]);
    assert.match(info.coordinateSystem.wkt, /ID\["EPSG",32633\]\]\s*$/);
    if (info.stac?.['proj:epsg'] !== undefined) assert.equal(info.stac['proj:epsg'], EPSG);
    assert.deepEqual(info.cornerCoordinates.upperLeft, [ORIGIN.x, ORIGIN.y]);
    assert.deepEqual(info.cornerCoordinates.lowerRight, [ORIGIN.x + WIDTH * PIXEL, ORIGIN.y - HEIGHT * PIXEL]);
    assert.equal(info.metadata.IMAGE_STRUCTURE?.['LAYOUT'], 'COG');
    assert.equal(info.metadata.IMAGE_STRUCTURE?.['COMPRESSION'], 'DEFLATE');
    const band = info.bands[0]!;
    assert.deepEqual([band.type, band.block, band.noDataValue], ['Byte', [512, 512], 0]);
    assert.deepEqual(band.overviews?.map((overview) => overview.size), [[650, 550], [325, 275]]);
    // GDAL reads the same pixels as geotiff.js did: its checksum of the COG equals its checksum of the PNG.
    const checksum = (path: string): string => /Checksum=(\d+)/.exec(execFileSync('gdalinfo', ['-checksum', path], { encoding: 'utf8' }))?.[1] ?? 'none';
    assert.equal(checksum(cogOf('one')), checksum(join(runs.get('one')!.folder, 'ndvi.png')));
  });

  test('GDAL\'s validate_cloud_optimized_geotiff.py accepts it (full check: leaders, trailers, block order)', (t) => {
    const tool = validator();
    if (typeof tool === 'string') return t.skip(tool);
    const output = execFileSync(tool.python, [tool.script, '--full-check=yes', cogOf('one')], { encoding: 'utf8' });
    assert.match(output, /is a valid cloud optimized GeoTIFF/);
    assert.doesNotMatch(output, /warning/i);
  });

  test('results arriving in reverse order give the same bytes', async () => {
    const outputDir = await mkdtemp(join(tmpdir(), 'tessera-cog-reverse-'));
    try {
      const done = await runInReverseOrder({
        request: { bands, indices: ['ndvi'], stripRows: STRIP_ROWS, formats: ['cog', 'png'] },
        outputDir,
        strips: Math.ceil(HEIGHT / STRIP_ROWS),
        stripBufferBytes: 1024,
      });
      assert.equal(done.status, 'completed', done.error ?? '');
      assert.equal(sha(await readFile(join(done.outputDir!, 'ndvi.tif'))), sha(await readFile(cogOf('one'))));
      assert.equal(sha(await readFile(join(done.outputDir!, 'ndvi.png'))), sha(await readFile(join(runs.get('one')!.folder, 'ndvi.png'))));
    } finally {
      await rm(outputDir, { recursive: true, force: true });
    }
  });
});
