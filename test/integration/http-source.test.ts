/**
 * Bands read over http: `tessera run` with band references that are URLs served by a local
 * Range-capable server. The Landsat sample read over http matches the local-file reference; a tiled
 * DEFLATE GeoTIFF is read block by block with Range requests (never one full download); a 404 fails
 * the request with an error naming the URL — without printing a signed URL's secret.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { packageRoot } from '../../shared/package-root.js';
import { lastJsonLine, runCli, type CliResult } from '../support/cli.js';
import { startRangeServer, type RangeServer } from '../support/range-server.js';
import { compareCodes, referenceCode, referenceCodes } from '../support/reference-index.js';
import { writeGeoTiff } from '../support/tiff-writer.js';

const RUN_TIMEOUT_MS = 120_000;
const sample = join(packageRoot(), 'samples', 'L7_ETMs.tif');

interface Summary {
  id: string;
  status: string;
  error: string | null;
  outputs: Record<string, { png: string } | string> | null;
  tilesTotal: number | null;
  tilesDone: number;
  workerTiles: Record<string, number> | null;
}

/** The grey PNG's pixels as stored (one channel). */
async function greyPixels(path: string): Promise<{ width: number; height: number; data: Uint8Array }> {
  const { channels } = await sharp(path).metadata();
  assert.equal(channels, 1, `${path} is a grey PNG`);
  const { data, info } = await sharp(path).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

async function run(args: readonly string[], out: string): Promise<{ result: CliResult; summary: Summary; ms: number }> {
  const started = Date.now();
  const result = await runCli(['run', '--workers', '2', '--out', out, '--json', ...args], {}, RUN_TIMEOUT_MS);
  const ms = Date.now() - started;
  let summary: Summary;
  try {
    summary = lastJsonLine<Summary>(result.stdout);
  } catch (error) {
    throw new Error(`no JSON summary (exit ${result.code}):\n${result.stderr}\n${result.stdout}`, { cause: error });
  }
  return { result, summary, ms };
}

function assertMatches(actual: Uint8Array, expected: Uint8Array): void {
  const agreement = compareCodes(actual, expected);
  assert.equal(agreement.nodataMismatches, 0, 'no-data identical');
  assert.equal(agreement.withinOne, agreement.total, '100 % within ±1');
  assert.ok(agreement.exact / agreement.total >= 0.9999, `≥ 99.99 % exact (${agreement.exact}/${agreement.total})`);
  assert.ok(new Set(actual).size > 50, 'the index varies');
}

describe('the Landsat sample read over http', { timeout: RUN_TIMEOUT_MS + 30_000 }, () => {
  let server: RangeServer;
  let out: string;

  before(async () => {
    server = await startRangeServer(new Map([['L7_ETMs.tif', await readFile(sample)]]));
    out = await mkdtemp(join(tmpdir(), 'tessera-http-sample-'));
  });
  after(async () => {
    await server?.close();
    if (out) await rm(out, { recursive: true, force: true });
  });

  test('`tessera run --workers 2` completes and ndvi equals the local-file reference', async (t) => {
    const url = server.url('L7_ETMs.tif');
    const { result, summary, ms } = await run(['--strip-rows', '128', '--band', `red=${url}#3`, '--band', `nir=${url}#4`, '--index', 'ndvi'], out);
    assert.equal(result.code, 0, `tessera run failed:\n${result.stderr}\n${result.stdout}`);
    assert.equal(summary.status, 'completed');
    assert.equal(summary.error, null);
    assert.equal(summary.tilesDone, summary.tilesTotal);

    const files = summary.outputs?.['ndvi'];
    assert.ok(typeof files === 'object', 'ndvi outputs');
    const png = await greyPixels(files.png);
    const expected = await referenceCodes(sample, 4, 3);
    assert.equal(png.width, expected.width);
    assert.equal(png.height, expected.height);
    assertMatches(png.data, expected.codes);

    const size = (await readFile(sample)).length;
    assert.ok(server.stats.rangeGets('/L7_ETMs.tif') > 0, 'Range requests were made');
    assert.equal(server.stats.fullGets('/L7_ETMs.tif'), 0, 'the file was never downloaded whole');
    t.diagnostic(
      `run ${ms} ms; ${server.stats.requests.length} requests, ${server.stats.bytesByPath('/L7_ETMs.tif')} bytes served for a ${size}-byte file`,
    );
  });
});

describe('a tiled DEFLATE uint16 GeoTIFF read over http', { timeout: RUN_TIMEOUT_MS + 30_000 }, () => {
  const SIZE = 1024;
  const BLOCK = 256;
  let server: RangeServer;
  let out: string;
  let red: Uint16Array;
  let nir: Uint16Array;
  const fileSizes = new Map<string, number>();

  before(async () => {
    // Deterministic, varied reflectances with no-data (0): a 200×200 corner and a sparse scatter.
    red = new Uint16Array(SIZE * SIZE);
    nir = new Uint16Array(SIZE * SIZE);
    let seed = 12345;
    const random = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (let y = 0; y < SIZE; y += 1) {
      for (let x = 0; x < SIZE; x += 1) {
        const i = y * SIZE + x;
        if ((x < 200 && y < 200) || random() < 0.001) continue;
        red[i] = 300 + ((x * 7 + y * 3) % 2500) + Math.floor(random() * 200);
        nir[i] = 800 + ((x * 2 + y * 11) % 5000) + Math.floor(random() * 300);
      }
    }
    const common = {
      width: SIZE,
      height: SIZE,
      sampleType: 'uint16' as const,
      tileSize: BLOCK,
      compression: 8 as const,
      predictor: 2 as const,
      crs: { epsg: 32633 },
      origin: { x: 500_000, y: 5_000_000 },
      pixelSize: 10,
    };
    const files = new Map<string, Uint8Array>([
      ['red.tif', writeGeoTiff({ ...common, samples: [red] })],
      ['nir.tif', writeGeoTiff({ ...common, samples: [nir] })],
    ]);
    for (const [name, bytes] of files) fileSizes.set(`/${name}`, bytes.length);
    server = await startRangeServer(files);
    out = await mkdtemp(join(tmpdir(), 'tessera-http-tiled-'));
  });
  after(async () => {
    await server?.close();
    if (out) await rm(out, { recursive: true, force: true });
  });

  test('completes, matches an independent computation, and reads with Range requests only', async (t) => {
    const { result, summary, ms } = await run(
      ['--strip-rows', String(BLOCK), '--band', `red=${server.url('red.tif')}`, '--band', `nir=${server.url('nir.tif')}`, '--index', 'ndvi'],
      out,
    );
    assert.equal(result.code, 0, `tessera run failed:\n${result.stderr}\n${result.stdout}`);
    assert.equal(summary.status, 'completed');
    assert.equal(summary.tilesTotal, SIZE / BLOCK, "one strip per block row");
    assert.equal(summary.tilesDone, summary.tilesTotal);

    const files = summary.outputs?.['ndvi'];
    assert.ok(typeof files === 'object', 'ndvi outputs');
    const png = await greyPixels(files.png);
    assert.equal(png.width, SIZE);
    assert.equal(png.height, SIZE);
    const expected = new Uint8Array(SIZE * SIZE);
    for (let i = 0; i < expected.length; i += 1) expected[i] = referenceCode(nir[i] as number, red[i] as number, 0, null, null);
    assert.ok(expected.includes(0), 'the fixture has no-data pixels');
    assertMatches(png.data, expected);

    for (const [path, size] of fileSizes) {
      const requests = server.stats.requests.filter((r) => r.url.split('?')[0] === path && r.method === 'GET');
      const served = server.stats.bytesByPath(path);
      t.diagnostic(
        `${path}: ${requests.length} GETs (${server.stats.rangeGets(path)} ranged), ${served} bytes served for a ${size}-byte file (${((100 * served) / size).toFixed(1)} %)`,
      );
      assert.equal(server.stats.fullGets(path), 0, `${path} was never downloaded whole`);
      assert.ok(server.stats.rangeGets(path) > 1, `${path} was read with several Range requests`);
      const largest = Math.max(...requests.map((r) => r.bytes));
      assert.ok(largest < size / 2, `${path}: no single response carried most of the file (largest ${largest} of ${size} bytes)`);
    }
    t.diagnostic(`run ${ms} ms`);
  });
});

describe('a band URL that is not found', { timeout: RUN_TIMEOUT_MS + 30_000 }, () => {
  const SECRET = 'SECRET123';
  let server: RangeServer;
  let out: string;

  before(async () => {
    server = await startRangeServer(new Map([['L7_ETMs.tif', await readFile(sample)]]));
    out = await mkdtemp(join(tmpdir(), 'tessera-http-404-'));
  });
  after(async () => {
    await server?.close();
    if (out) await rm(out, { recursive: true, force: true });
  });

  test('`tessera run` fails, naming the URL and saying it was not found, without printing the signature', async (t) => {
    const missing = server.url('missing/B08.tif');
    const { result, summary, ms } = await run(
      ['--band', `red=${server.url('L7_ETMs.tif')}#3`, '--band', `nir=${missing}?sig=${SECRET}&se=2030-01-01`, '--index', 'ndvi'],
      out,
    );
    t.diagnostic(`run ${ms} ms; error: ${summary.error}`);
    assert.notEqual(result.code, 0, 'exit code');
    assert.equal(summary.status, 'failed');
    assert.ok(summary.error, 'the summary has an error');
    // The URL was really requested, signature and all.
    assert.ok(
      server.stats.requests.some((r) => r.url === `/missing/B08.tif?sig=${SECRET}&se=2030-01-01` && r.status === 404),
      'the server saw the signed URL and answered 404',
    );
    assert.ok(summary.error.includes(missing), `the error names the URL: ${summary.error}`);
    assert.match(summary.error, /not found|404/i, 'the error says the file was not found');
    assert.ok(!result.stdout.includes(SECRET), `stdout must not show the signature:\n${result.stdout}`);
    assert.ok(!result.stderr.includes(SECRET), `stderr must not show the signature:\n${result.stderr}`);
  });
});
