/**
 * The web preview of a real run (in-memory store, two real workers over gRPC, the bundled sample in
 * SIRGAS 2000 / UTM 25S): its lat/lng bounds are the mosaic's bounds taken to lat/lng (within a
 * preview pixel), it is RGBA in Web Mercator with no-data and the outside transparent, and its pixels
 * are where GDAL puts them (gdalwarp -t_srs EPSG:3857 -r near of the mosaic, where GDAL is installed).
 * Also: a worker's preview sample of the wrong size is refused like any bad result.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import proj4 from 'proj4';
import sharp from 'sharp';
import { crsProj4, gridBounds } from '../../master/output/georeference.js';
import { colourRamp } from '../../master/output/colour-ramp.js';
import type { Manifest } from '../../master/output/manifest.js';
import { InMemoryRequestStore } from '../../master/store/in-memory-request-store.js';
import { packageRoot } from '../../shared/package-root.js';
import { processTile } from '../../worker/tile-processor.js';
import { startTestMaster, startWorkers } from '../support/cluster.js';
import { hasGdal } from '../support/gdal.js';
import { waitFinished } from '../support/wait-finished.js';

const sample = join(packageRoot(), 'samples', 'L7_ETMs.tif');
const BANDS = { red: `${sample}#3`, nir: `${sample}#4` };

async function runSample(t: import('node:test').TestContext, options: { badPreview?: boolean } = {}): Promise<{ dir: string; manifest: Manifest; rejected: number }> {
  const outputDir = await mkdtemp(join(tmpdir(), 'tessera-preview-'));
  const store = new InMemoryRequestStore();
  const master = await startTestMaster({ outputDir, pollIntervalMs: 50, tileMaxAttempts: 3 }, { store });
  let rejected = 0;
  master.events.on('tile:rejected', () => (rejected += 1));
  const workers = startWorkers(2, master.grpcPort, 'preview', {
    process: async (task, sources, scratch) => {
      const processed = await processTile(task, sources, scratch);
      // The first hand-out of strip 2 comes back with a preview sample one byte short.
      if (options.badPreview && task.tileIndex === 2 && task.attempt === 1) {
        return { ...processed, tiles: processed.tiles.map((tile) => ({ ...tile, preview: Buffer.from(tile.preview ?? []).subarray(1) })) };
      }
      return processed;
    },
  });
  t.after(async () => {
    await Promise.all(workers.map((worker) => worker.stop({ graceful: false })));
    await master.stop({ graceful: false, timeoutMs: 2_000 });
    await rm(outputDir, { recursive: true, force: true });
  });
  const id = await store.insert({ bands: BANDS, indices: ['ndvi'], stripRows: 48 });
  const row = await waitFinished(store, id);
  assert.equal(row.status, 'completed', row.error ?? '');
  const dir = row.outputDir!;
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  return { dir, manifest, rejected };
}

test('the preview lands where the mosaic is: bounds, transparency, and pixels as gdalwarp puts them', async (t) => {
  const { dir, manifest } = await runSample(t);
  const preview = manifest.preview?.ndvi;
  assert.ok(preview, 'the manifest describes the ndvi preview');
  assert.equal(preview.file, 'ndvi_preview.png');
  assert.equal(preview.crs, 'EPSG:3857');
  assert.ok(Math.max(preview.width, preview.height) <= 2048);

  // The mosaic's bounds, densified along the edges, in lat/lng: an independent proj4 of the EPSG code.
  const toLngLat = proj4(crsProj4(manifest.crs.epsg)!, '+proj=longlat +datum=WGS84 +no_defs');
  const b = gridBounds(manifest.grid);
  const lngLats: Array<[number, number]> = [];
  for (let i = 0; i <= 100; i += 1) {
    const f = i / 100;
    for (const xy of [[b.minX + f * (b.maxX - b.minX), b.minY], [b.minX + f * (b.maxX - b.minX), b.maxY], [b.minX, b.minY + f * (b.maxY - b.minY)], [b.maxX, b.minY + f * (b.maxY - b.minY)]] as const) {
      lngLats.push(toLngLat.forward<[number, number]>([xy[0], xy[1]]));
    }
  }
  const [[south, west], [north, east]] = preview.latLngBounds;
  const pixelLng = (east - west) / preview.width;
  const pixelLat = (north - south) / preview.height;
  const expected = {
    west: Math.min(...lngLats.map(([lng]) => lng)),
    east: Math.max(...lngLats.map(([lng]) => lng)),
    south: Math.min(...lngLats.map(([, lat]) => lat)),
    north: Math.max(...lngLats.map(([, lat]) => lat)),
  };
  assert.ok(Math.abs(west - expected.west) < pixelLng && Math.abs(east - expected.east) < pixelLng, `lng ${west}…${east} vs ${expected.west}…${expected.east}`);
  assert.ok(Math.abs(south - expected.south) < pixelLat && Math.abs(north - expected.north) < pixelLat, `lat ${south}…${north} vs ${expected.south}…${expected.north}`);

  const { data, info } = await sharp(join(dir, preview.file)).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [preview.width, preview.height, 4], 'RGBA of the size the manifest says');
  assert.equal(data[3], 0, 'the corner outside the (rotated) mosaic is transparent');
  const alphas = new Set<number>();
  for (let p = 3; p < data.length; p += 4) alphas.add(data[p]!);
  assert.deepEqual([...alphas].sort((x, y) => x - y), [0, 255], 'opaque or transparent, nothing between');

  if (!hasGdal()) {
    t.diagnostic('GDAL is not installed: the pixel-by-pixel comparison with gdalwarp is left out');
    return;
  }
  // gdalwarp of the grey codes onto exactly the preview's Web Mercator frame, nearest neighbour.
  const warped = join(dir, 'warped.raw');
  const mercator = proj4('+proj=longlat +datum=WGS84 +no_defs', '+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +nadgrids=@null +wktext +no_defs');
  const [minX, minY] = mercator.forward<[number, number]>([west, south]);
  const [maxX, maxY] = mercator.forward<[number, number]>([east, north]);
  execFileSync('gdalwarp', ['-q', '-t_srs', 'EPSG:3857', '-r', 'near', '-te', ...[minX, minY, maxX, maxY].map(String), '-ts', String(preview.width), String(preview.height), '-of', 'ENVI', '-ot', 'Byte', join(dir, 'ndvi.png'), warped]);
  const codes = await readFile(warped);
  assert.equal(codes.length, preview.width * preview.height);
  const lut = colourRamp('ndvi');
  let same = 0;
  let opaque = 0;
  for (let p = 0; p < codes.length; p += 1) {
    const code = codes[p]!;
    const ours = data.subarray(p * 4, p * 4 + 4);
    if (ours[3] === 255) opaque += 1;
    if (code === 0 ? ours[3] === 0 : Buffer.compare(ours, Buffer.from(lut.subarray(code * 4, code * 4 + 4))) === 0) same += 1;
  }
  // Nearest neighbour on both sides; only pixel centres that fall within rounding of a source pixel edge may differ.
  const agreement = same / codes.length;
  t.diagnostic(`${(agreement * 100).toFixed(2)} % of ${codes.length} preview pixels as gdalwarp puts them; ${opaque} opaque`);
  assert.ok(opaque > codes.length * 0.9, 'most of the preview shows the mosaic');
  assert.ok(agreement > 0.97, `${(agreement * 100).toFixed(2)} % agree with gdalwarp`);
  // A known pixel: the centre of the preview, inside the mosaic, exactly where gdalwarp puts it.
  const centre = Math.floor(preview.height / 2) * preview.width + Math.floor(preview.width / 2);
  assert.ok(codes[centre]! > 0);
  assert.deepEqual([...data.subarray(centre * 4, centre * 4 + 4)], [...lut.subarray(codes[centre]! * 4, codes[centre]! * 4 + 4)]);
});

test('a preview sample of the wrong size is a rejected result: the strip goes out again and the preview is whole', async (t) => {
  const { manifest, rejected } = await runSample(t, { badPreview: true });
  assert.equal(rejected, 1);
  assert.ok(manifest.preview?.ndvi, 'the preview was written from the good result');
});
