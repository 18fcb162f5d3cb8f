/**
 * An EarthDaily box through `tessera run --workers 2`: a generated 4-band float32 COG in EPSG:3857,
 * served with Range support behind a query-string signature. The NDVI PNG, mapped through its own
 * georeferencing back into the mosaic, equals an independent computation, and the run fetched well
 * under half of the file. Refused URLs and bad boxes fail with a readable reason.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { hasGdal } from '../support/gdal.js';
import { lastJsonLine, runCli } from '../support/cli.js';
import { makeMosaicFixture, type MosaicFixture } from '../support/mosaic-fixture.js';
import { compareCodes, referenceCode } from '../support/reference-index.js';
import { startSignedRangeServer, type SignedRangeServer } from '../support/signed-range-server.js';

const SIGNATURE = 'Zm9vYmFyLXNlY3JldC1zaWduYXR1cmU';
const FILE = 'mosaic.tif';
const NODATA = -9999;
const R = 6378137;
const ORIGIN = { x: 1_113_200, y: 5_650_000 };

/** EPSG:3857 metres → WGS84 degrees, the closed-form inverse (independent of proj4). */
function toLatLng(x: number, y: number): { lat: number; lng: number } {
  return { lng: (x / R) * (180 / Math.PI), lat: (2 * Math.atan(Math.exp(y / R)) - Math.PI / 2) * (180 / Math.PI) };
}

interface Summary {
  status: string;
  error: string | null;
  outputs: Record<string, { png: string; worldFile: string; auxXml: string } | string>;
}

describe('tessera run --source earthdaily', () => {
  let fixture: MosaicFixture;
  let server: SignedRangeServer;
  let out: string;

  before(async () => {
    fixture = makeMosaicFixture({
      size: 2048,
      block: 256,
      pixel: { x: 20, y: 20 },
      origin: ORIGIN,
      crs: { epsg: 3857 },
      bands: 4, // blue, green, red, nir
      overviews: 2,
      sampleType: 'float32',
      nodata: NODATA,
      nodataRect: { minX: ORIGIN.x + 9_000, minY: ORIGIN.y - 12_000, maxX: ORIGIN.x + 10_000, maxY: ORIGIN.y - 11_000 },
      seed: 42,
    });
    server = await startSignedRangeServer(new Map([[FILE, fixture.bytes]]), SIGNATURE);
    out = await mkdtemp(join(tmpdir(), 'tessera-earthdaily-test-'));
  });
  after(async () => {
    await server.close();
    await rm(out, { recursive: true, force: true });
  });

  /** The box of map rectangle [x0, x1] × [y0, y1] (EPSG:3857), as --ul / --lr arguments. */
  function corners(x0: number, y0: number, x1: number, y1: number): string[] {
    const ul = toLatLng(x0, y1);
    const lr = toLatLng(x1, y0);
    return [`--ul=${ul.lat},${ul.lng}`, `--lr=${lr.lat},${lr.lng}`];
  }

  async function run(args: readonly string[]): Promise<{ code: number | null; summary: Summary; output: string }> {
    const result = await runCli(['run', '--source', 'earthdaily', '--workers', '2', '--out', out, '--json', ...args]);
    return { code: result.code, summary: lastJsonLine<Summary>(result.stdout), output: result.stdout + result.stderr };
  }

  test('NDVI of a box equals an independent computation, read with range requests only', async (t) => {
    const box = corners(ORIGIN.x + 6_000, ORIGIN.y - 20_000, ORIGIN.x + 16_000, ORIGIN.y - 8_000);
    const { code, summary, output } = await run([...box, '--url', server.url(FILE), '--resolution', '30', '--index', 'ndvi', '--strip-rows', '64']);
    assert.equal(code, 0, output);
    assert.equal(summary.status, 'completed');
    assert.doesNotMatch(output, new RegExp(SIGNATURE), 'the signature is never printed');

    const files = summary.outputs['ndvi'];
    assert.ok(typeof files === 'object');
    const { data, info } = await sharp(files.png).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    const [a, , , e, c, f] = (await readFile(files.worldFile, 'utf8')).trim().split(/\s+/).map(Number) as [number, number, number, number, number, number];
    assert.equal(a, 30);
    assert.equal(e, -30);

    // Map every output pixel centre through the PNG's own world file back into the mosaic (level 0:
    // 30 m asks for detail the 40 m overview lacks) and compute the code from the generated arrays.
    const expected = new Uint8Array(info.width * info.height);
    for (let j = 0; j < info.height; j += 1) {
      for (let i = 0; i < info.width; i += 1) {
        const x = c + i * a;
        const y = f + j * e;
        const red = fixture.valueAt(0, 2, x, y);
        const nir = fixture.valueAt(0, 3, x, y);
        expected[j * info.width + i] = red === undefined || nir === undefined ? 0 : referenceCode(nir, red, 0, NODATA, NODATA);
      }
    }
    const agreement = compareCodes(new Uint8Array(data), expected);
    assert.equal(agreement.nodataMismatches, 0, 'no-data identical');
    assert.equal(agreement.withinOne, agreement.total, '100 % within ±1');
    assert.ok(agreement.exact / agreement.total >= 0.9999, `≥ 99.99 % exact (${agreement.exact}/${agreement.total})`);
    assert.ok(expected.some((code) => code === 0) && expected.some((code) => code > 0), 'the box holds both data and no-data');

    const manifest = JSON.parse(await readFile(summary.outputs['manifest'] as string, 'utf8')) as {
      crs: { epsg: number };
      fetched: { bytes: number; requests: number };
      earthdaily: { sourceUrl: string; box: Record<string, number>; overview: number; outputGrid: string };
    };
    assert.equal(manifest.crs.epsg, 3857);
    assert.equal(manifest.earthdaily.sourceUrl, `http://127.0.0.1:${server.port}/${FILE}`, 'recorded without its query string');
    assert.equal(manifest.earthdaily.overview, 0);
    assert.match(manifest.earthdaily.outputGrid, /EPSG:3857/);
    assert.match(await readFile(files.auxXml, 'utf8'), /3857/);
    const share = manifest.fetched.bytes / fixture.bytes.length;
    t.diagnostic(`fetched ${manifest.fetched.bytes} of ${fixture.bytes.length} bytes (${(share * 100).toFixed(1)} %) in ${manifest.fetched.requests} requests`);
    assert.ok(manifest.fetched.bytes > 0);
    assert.ok(share < 0.25, `fetched ${(share * 100).toFixed(1)} % of the file`);
    assert.equal(server.backend.stats.fullGets(`/${FILE}`), 0, 'never a whole-file GET');
    assert.ok(server.backend.stats.bytesByPath(`/${FILE}`) >= manifest.fetched.bytes);
  });

  test('a coarse resolution reads an overview level instead of the full image', async () => {
    const box = corners(ORIGIN.x + 2_000, ORIGIN.y - 30_000, ORIGIN.x + 30_000, ORIGIN.y - 2_000);
    const { code, summary, output } = await run([...box, '--url', server.url(FILE), '--resolution', '80', '--index', 'ndvi']);
    assert.equal(code, 0, output);
    const manifest = JSON.parse(await readFile(summary.outputs['manifest'] as string, 'utf8')) as { earthdaily: { overview: number } };
    assert.equal(manifest.earthdaily.overview, 2, 'the 80 m overview');
  });

  test('the PNG opens in GDAL in EPSG:3857', { skip: hasGdal() ? false : 'GDAL is not installed (apt-get install gdal-bin)' }, async () => {
    const box = corners(ORIGIN.x + 6_000, ORIGIN.y - 12_000, ORIGIN.x + 9_000, ORIGIN.y - 9_000);
    const { code, summary, output } = await run([...box, '--url', server.url(FILE), '--resolution', '20', '--index', 'ndvi']);
    assert.equal(code, 0, output);
    const files = summary.outputs['ndvi'];
    assert.ok(typeof files === 'object');
    const info = JSON.parse(execFileSync('gdalinfo', ['-json', files.png], { encoding: 'utf8' })) as { coordinateSystem: { wkt: string } };
    assert.match(info.coordinateSystem.wkt, /ID\["EPSG",3857\]/);
  });

  const inside = (): string[] => corners(ORIGIN.x + 6_000, ORIGIN.y - 12_000, ORIGIN.x + 9_000, ORIGIN.y - 9_000);
  for (const [name, args, reason] of [
    ['an expired signature (403)', () => [...inside(), '--url', server.url(FILE, 'expired-signature'), '--resolution', '20'], /refused the URL \(HTTP 403/],
    ['a box larger than MAX_BBOX_DEG', () => ['--ul=45.5,9.5', '--lr=44.5,10.5', '--url', server.url(FILE), '--resolution', '20'], /MAX_BBOX_DEG/],
    ['a box outside the mosaic', () => ['--ul=-33.90,18.40', '--lr=-33.95,18.47', '--url', server.url(FILE), '--resolution', '20'], /outside the mosaic/],
  ] as const) {
    test(`${name}: non-zero exit and a failed row with a readable reason`, async () => {
      const { code, summary, output } = await run(args());
      assert.notEqual(code, 0);
      assert.equal(summary.status, 'failed');
      assert.match(summary.error ?? '', reason);
      assert.doesNotMatch(output, /expired-signature|Zm9vYmFy/, 'no signature in any output');
    });
  }

  // The request rules hold for the command line too: what the master would fail for the request's
  // contents is a usage error before anything runs, in the words the row would get.
  test('NDSI without a swir band: refused before it runs (exit 2), in the words the row would get', async () => {
    const result = await runCli(['run', '--source', 'earthdaily', '--workers', '2', '--out', out, '--json', ...inside(), '--url', server.url(FILE), '--resolution', '20', '--index', 'ndsi']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^tessera: usage: ndsi needs a swir16 band, but the mosaic's band layout \(blue=1, green=2, red=3, nir=4\) has none/m);
    assert.equal(result.stdout, '', 'no summary: no request ran');
  });
});
