/**
 * STAC items through `tessera run --source stac`: a local HTTP server on 127.0.0.1 serves an Earth
 * Search-shaped item (relative hrefs, raster:bands offset, baseline 05.09) and Planetary
 * Computer-shaped items (B04/B08/B03/B11 keys, signed absolute hrefs, baselines 04.00 and 03.01)
 * pointing at generated Sentinel-2-like GeoTIFFs. Their NDVI and NDSI equal an independent per-pixel
 * computation with the offset each item implies; the manifest says which offset and why; an explicit
 * reflectance offset wins; a missing asset fails with a reason.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { lastJsonLine, runCli } from '../support/cli.js';
import { prng } from '../support/prng.js';
import { startRangeServer, type RangeServer } from '../support/range-server.js';
import { compareCodes, referenceCode } from '../support/reference-index.js';
import { writeGeoTiff } from '../support/tiff-writer.js';

const WIDTH = 96;
const HEIGHT = 80;
const BANDS = { red: 'B04', nir: 'B08', green: 'B03', swir16: 'B11' } as const;
type Band = keyof typeof BANDS;

interface Summary {
  status: string;
  error: string | null;
  outputs: Record<string, { png: string } | string>;
}

interface StacManifest {
  stac: { itemUrl: string; id: string; processingBaseline: string | null; offset: { value: number; source: string; reason: string } };
  inputs: { name: string; uri: string }[];
}

describe('tessera run --source stac', () => {
  const samples = new Map<Band, Uint16Array>();
  let server: RangeServer;
  let out: string;

  before(async () => {
    const random = prng(2026);
    const files = new Map<string, Uint8Array>();
    for (const band of Object.keys(BANDS) as Band[]) {
      // DNs as baseline-04.00 products carry them: reflectance × 10000 + 1000; a corner of no-data (0).
      const values = Uint16Array.from({ length: WIDTH * HEIGHT }, (_, i) => (i % WIDTH < 8 && i < WIDTH * 10 ? 0 : 1000 + Math.floor(random() * 6000)));
      samples.set(band, values);
      const file = writeGeoTiff({
        width: WIDTH,
        height: HEIGHT,
        sampleType: 'uint16',
        tileSize: 32,
        compression: 8,
        predictor: 2,
        crs: { epsg: 32632 },
        origin: { x: 300_000, y: 5_000_040 },
        pixelSize: 10,
        nodata: 0,
        samples: [values],
      });
      files.set(`tiles/${BANDS[band]}.tif`, file);
    }
    const raster = [{ scale: 0.0001, offset: -0.1 }];
    const earthSearch = {
      type: 'Feature',
      stac_version: '1.0.0',
      id: 'S2B_32TLS_20240704_0_L2A',
      properties: { datetime: '2024-07-04T10:15:59Z', platform: 'sentinel-2b', 's2:processing_baseline': '05.10' },
      assets: Object.fromEntries((Object.keys(BANDS) as Band[]).map((band) => [band, { href: `../tiles/${BANDS[band]}.tif`, 'raster:bands': raster }])),
    };
    const planetary = (baseline: string, keys: readonly Band[] = Object.keys(BANDS) as Band[]) => ({
      type: 'Feature',
      id: `S2A_MSIL2A_T32TLS_N${baseline}`,
      properties: { datetime: '2021-06-15T10:16:11Z', platform: 'Sentinel-2A', 's2:processing_baseline': baseline },
      assets: Object.fromEntries(keys.map((band) => [BANDS[band], { href: `${server.url(`tiles/${BANDS[band]}.tif`)}?sv=2021&sig=SECRET` }])),
    });
    server = await startRangeServer(files);
    const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
    files.set('earth-search/item.json', json(earthSearch));
    files.set('pc/item-04.json', json(planetary('04.00')));
    files.set('pc/item-03.json', json(planetary('03.01')));
    files.set('pc/no-swir.json', json(planetary('04.00', ['red', 'nir', 'green'])));
    out = await mkdtemp(join(tmpdir(), 'tessera-stac-run-'));
  });
  after(async () => {
    await server?.close();
    if (out) await rm(out, { recursive: true, force: true });
  });

  async function run(args: readonly string[]): Promise<{ code: number | null; summary: Summary; output: string }> {
    const result = await runCli(['run', '--source', 'stac', '--workers', '1', '--out', out, '--json', '--index', 'ndvi,ndsi', ...args]);
    return { code: result.code, summary: lastJsonLine<Summary>(result.stdout), output: result.stdout + result.stderr };
  }

  /** The run's codes of `index` against the independent computation with `offset`. */
  async function assertCodes(summary: Summary, index: 'ndvi' | 'ndsi', offset: number): Promise<void> {
    const files = summary.outputs[index];
    assert.ok(typeof files === 'object', `${index} written`);
    const { data, info } = await sharp(files.png).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [WIDTH, HEIGHT]);
    const [a, b] = index === 'ndvi' ? [samples.get('nir'), samples.get('red')] : [samples.get('green'), samples.get('swir16')];
    assert.ok(a && b);
    const expected = Uint8Array.from({ length: WIDTH * HEIGHT }, (_, i) => referenceCode(a[i] as number, b[i] as number, offset, 0, 0));
    const agreement = compareCodes(new Uint8Array(data), expected);
    assert.equal(agreement.nodataMismatches, 0, `${index}: no-data identical`);
    assert.equal(agreement.withinOne, agreement.total, `${index}: every code within ±1`);
  }

  async function manifestOf(summary: Summary): Promise<StacManifest> {
    return JSON.parse(await readFile(summary.outputs['manifest'] as string, 'utf8')) as StacManifest;
  }

  test('an Earth Search item: bands by common name, relative hrefs, the raster:bands offset (-1000)', async () => {
    const { code, summary, output } = await run(['--url', server.url('earth-search/item.json')]);
    assert.equal(code, 0, output);
    await assertCodes(summary, 'ndvi', -1000);
    await assertCodes(summary, 'ndsi', -1000);
    const manifest = await manifestOf(summary);
    assert.equal(manifest.stac.id, 'S2B_32TLS_20240704_0_L2A');
    assert.deepEqual([manifest.stac.offset.value, manifest.stac.offset.source], [-1000, 'raster:bands']);
    assert.deepEqual(manifest.inputs.map((input) => input.uri).sort(), (['B03', 'B04', 'B08', 'B11'] as const).map((name) => server.url(`tiles/${name}.tif`)));
  });

  test('Planetary Computer items: baseline 04.00 means -1000, 03.01 means none; signatures never shown', async () => {
    const recent = await run(['--url', server.url('pc/item-04.json')]);
    assert.equal(recent.code, 0, recent.output);
    await assertCodes(recent.summary, 'ndvi', -1000);
    const recentManifest = await manifestOf(recent.summary);
    assert.deepEqual([recentManifest.stac.offset.value, recentManifest.stac.offset.source], [-1000, 'processing-baseline']);
    assert.match(recentManifest.stac.offset.reason, /04\.00 ≥ 04\.00/);
    assert.doesNotMatch(JSON.stringify(recentManifest) + recent.output, /SECRET/);

    const old = await run(['--url', server.url('pc/item-03.json')]);
    assert.equal(old.code, 0, old.output);
    await assertCodes(old.summary, 'ndvi', 0);
    await assertCodes(old.summary, 'ndsi', 0);
    assert.deepEqual((await manifestOf(old.summary)).stac.offset.source, 'none');
  });

  test('an explicit --reflectance-offset wins over the item', async () => {
    const { code, summary, output } = await run(['--url', server.url('pc/item-04.json'), '--reflectance-offset', '0']);
    assert.equal(code, 0, output);
    await assertCodes(summary, 'ndvi', 0);
    assert.deepEqual((await manifestOf(summary)).stac.offset, { value: 0, source: 'request', reason: 'reflectance_offset given in the request' });
  });

  test('an item without the asset NDSI needs fails with what it has', async () => {
    const { code, summary, output } = await run(['--url', server.url('pc/no-swir.json')]);
    assert.notEqual(code, 0, output);
    assert.equal(summary.status, 'failed');
    assert.match(summary.error ?? '', /has no asset for swir16 .*its assets: B04, B08, B03/);
  });
});
