/**
 * An EarthDaily mosaic read over http: a 2048×2048, 4-band (BGRN) float32 DEFLATE COG in EPSG:3857
 * with two internal overviews and no-data pixels, behind a signed URL (403 without the right
 * `?sig=`). openEarthDailyBandSet cuts a box out of it, and every output pixel of every planned tile
 * (readTile → protobuf → worker decoding) equals an independent lookup in the arrays the file was
 * made from, at full resolution and from overviews, while only a small part of the file is fetched.
 * Refused, missing and flaky URLs fail or retry as they should, never printing the signature.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openEarthDailyBandSet, type EarthDailyBandSet, type EarthDailyInput } from '../../master/source/earthdaily-source.js';
import { referenceRowsFor } from '../../master/source/band-set.js';
import type { RetryPolicy } from '../../master/source/geotiff-opener.js';
import { InvalidRequestError, SourceReadError, describeError } from '../../shared/errors.js';
import { checkStrips, makeMosaicFixture, type MosaicFixture } from '../support/mosaic-fixture.js';
import { startSignedRangeServer, type SignedRangeServer } from '../support/signed-range-server.js';

const SIGNATURE = 'sv2024-Zq8xK3pLmN0vB7yT';
const R = 6378137;
const NODATA = -9999;
const RETRY: RetryPolicy = { retries: 3, initialDelayMs: 5, maxDelayMs: 20 };
const LIMITS = { maxBboxDeg: 0.42, maxPixels: 4_000_000, retry: RETRY };
/** Blue, green, red, nir = bands 1–4; the indices need these three. */
const BANDS: EarthDailyInput['bands'] = [
  { name: 'red', band: 3 },
  { name: 'nir', band: 4 },
  { name: 'green', band: 2 },
];
const BAND_NUMBERS = new Map(BANDS.map((b) => [b.name, b.band] as const));
const BOX = { ulLat: 45.1, ulLng: 10.1, lrLat: 45.05, lrLng: 10.16 };

/** Web Mercator, closed form. */
function mercator(lng: number, lat: number): [number, number] {
  return [(R * lng * Math.PI) / 180, R * Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI) / 360))];
}

describe('an EarthDaily mosaic behind a signed URL', { timeout: 180_000 }, () => {
  let fixture: MosaicFixture;
  let server: SignedRangeServer;
  const FILE = 'mosaic/bgrn_3857.tif';

  before(async () => {
    const [x0, y0] = mercator(10.11, 45.09);
    fixture = makeMosaicFixture({
      size: 2048,
      block: 256,
      pixel: { x: 20, y: 20 },
      origin: { x: 1_113_200, y: 5_650_000 },
      crs: { epsg: 3857 },
      bands: 4,
      overviews: 2,
      sampleType: 'float32',
      nodata: NODATA,
      nodataRect: { minX: x0, minY: y0 - 900, maxX: x0 + 700, maxY: y0 },
      seed: 3857,
    });
    server = await startSignedRangeServer(new Map([[FILE, fixture.bytes]]), SIGNATURE);
  });
  after(async () => {
    await server?.close();
  });

  const open = (input: Partial<EarthDailyInput> = {}, limits: Partial<typeof LIMITS> = {}): Promise<EarthDailyBandSet> =>
    openEarthDailyBandSet({ url: server.url(FILE), bbox: BOX, resolution: 20, bands: BANDS, ...input }, { ...LIMITS, ...limits });

  const cases = [
    { resolution: 20, overview: 0, aligned: true },
    { resolution: 30, overview: 0, aligned: false },
    { resolution: 50, overview: 1, aligned: false },
    { resolution: 80, overview: 2, aligned: true },
    { resolution: 85, overview: 2, aligned: false },
  ];
  for (const { resolution, overview, aligned } of cases) {
    test(`a box at ${resolution} m reads image ${overview} and every output pixel is the right source pixel`, async (t) => {
      const before = server.backend.stats.bytesByPath(`/${FILE}`);
      const set = await open({ resolution });
      try {
        assert.equal(set.overview, overview);
        assert.equal(set.clipped, false);
        assert.deepEqual(set.box, BOX);
        assert.equal(set.sourceUrl, `http://127.0.0.1:${server.port}/${FILE}`);
        assert.ok(!set.sourceUrl.includes(SIGNATURE));
        const { grid } = set;
        assert.equal(grid.epsg, 3857);
        assert.equal(grid.pixelWidth, resolution);
        assert.equal(grid.pixelHeight, resolution);

        // The grid covers the box (its envelope in EPSG:3857) by less than one pixel more on each side.
        const [minX, maxY] = mercator(BOX.ulLng, BOX.ulLat);
        const [maxX, minY] = mercator(BOX.lrLng, BOX.lrLat);
        const right = grid.originX + grid.width * grid.pixelWidth;
        const bottom = grid.originY - grid.height * grid.pixelHeight;
        assert.ok(grid.originX <= minX && grid.originX > minX - resolution, 'west edge');
        assert.ok(right >= maxX && right < maxX + resolution, 'east edge');
        assert.ok(grid.originY >= maxY && grid.originY < maxY + resolution, 'north edge');
        assert.ok(bottom <= minY && bottom > minY - resolution, 'south edge');
        // …on a lattice anchored at the mosaic's origin.
        const offset = (grid.originX - 1_113_200) / resolution;
        assert.ok(Math.abs(offset - Math.round(offset)) < 1e-6, 'grid on the mosaic-anchored lattice');

        const rows = referenceRowsFor(set);
        if (aligned) assert.equal(rows?.height, 256, 'strips aligned to block rows');
        else assert.equal(rows, undefined, 'resampled grid: no block alignment');

        const check = await checkStrips(set, fixture, overview, BAND_NUMBERS, 256);
        assert.equal(check.outside, 0);
        assert.equal(check.compared, grid.width * grid.height * BANDS.length);
        assert.ok(check.nodata > 0, 'the box holds no-data pixels');
        assert.equal(check.decodedSources, 0, 'every window travels as the file’s compressed blocks');
        assert.deepEqual([...check.blockSizes], ['256x256']);

        const fetched = set.fetched();
        const served = server.backend.stats.bytesByPath(`/${FILE}`) - before;
        assert.equal(fetched.bytes, served, 'the meter counts exactly the bytes the server sent');
        assert.equal(server.backend.stats.fullGets(`/${FILE}`), 0, 'the file was never downloaded whole');
        const share = fetched.bytes / fixture.bytes.length;
        t.diagnostic(
          `${resolution} m: grid ${grid.width}×${grid.height}, image ${set.overview}, ${check.tiles} tiles; fetched ${fetched.bytes} bytes in ` +
            `${fetched.requests} requests of a ${fixture.bytes.length}-byte file (${(100 * share).toFixed(2)} %)`,
        );
        assert.ok(share < 0.5, `fetched ${(100 * share).toFixed(1)} % of the file`);
      } finally {
        await set.close();
      }
    });
  }

  test('a box reaching past the mosaic is clipped to it', async () => {
    // The mosaic's west edge is at 1 113 200 m ≈ 10.00004° E.
    const set = await open({ bbox: { ulLat: 45.1, ulLng: 9.95, lrLat: 45.05, lrLng: 10.05 }, resolution: 40 });
    try {
      assert.equal(set.clipped, true);
      assert.equal(set.grid.originX, 1_113_200);
      const check = await checkStrips(set, fixture, 1, BAND_NUMBERS, 128);
      assert.equal(check.outside, 0);
    } finally {
      await set.close();
    }
  });

  test('a refused URL (wrong or missing signature) fails saying so, without printing the signature', async () => {
    const wrong = 'WRONG-Sig-9f8e7d';
    for (const signature of [wrong, null]) {
      const url = server.url(FILE, signature);
      await assert.rejects(openEarthDailyBandSet({ url, bbox: BOX, resolution: 20, bands: BANDS }, LIMITS), (error: unknown) => {
        assert.ok(error instanceof SourceReadError, `a SourceReadError: ${String(error)}`);
        assert.match(error.message, /refused/);
        assert.match(error.message, /HTTP 403/);
        assert.match(error.message, /signature may have expired/);
        assert.ok(error.message.includes(`http://127.0.0.1:${server.port}/${FILE}`), `names the URL: ${error.message}`);
        for (const secret of [wrong, SIGNATURE]) {
          assert.ok(!error.message.includes(secret), `no signature in: ${error.message}`);
          assert.ok(!describeError(error).includes(secret));
        }
        return true;
      });
    }
    const refused = server.seen.filter((r) => r.status === 403);
    assert.ok(refused.length >= 2, 'the server refused the requests');
    assert.equal(refused.filter((r) => r.url.includes(wrong)).length, 1, 'a 403 is not retried');
  });

  test('a URL that is not found fails saying so', async () => {
    await assert.rejects(
      openEarthDailyBandSet({ url: server.url('mosaic/missing.tif'), bbox: BOX, resolution: 20, bands: BANDS }, LIMITS),
      (error: unknown) => {
        assert.ok(error instanceof SourceReadError);
        assert.match(error.message, /not found \(HTTP 404/);
        assert.ok(!error.message.includes(SIGNATURE));
        return true;
      },
    );
  });

  test('transient 503s and a dropped connection are retried, then the box opens', async () => {
    const seenBefore = server.seen.length;
    server.injectFailures(503, 'reset', 503);
    const set = await open();
    try {
      const statuses = server.seen.slice(seenBefore).map((r) => r.status);
      assert.deepEqual(statuses.slice(0, 4), [503, 0, 503, 206], `statuses seen: ${statuses.join(', ')}`);
      const fetched = set.fetched();
      assert.equal(fetched.requests, server.seen.length - seenBefore, 'every attempt is counted');
      const check = await checkStrips(set, fixture, 0, BAND_NUMBERS, 512);
      assert.ok(check.compared > 0);
    } finally {
      await set.close();
    }
  });

  test('a server that keeps failing makes the request fail after the retries', async () => {
    server.injectFailures(503, 503, 503, 503);
    await assert.rejects(open(), (error: unknown) => {
      assert.ok(error instanceof SourceReadError);
      assert.match(error.message, /HTTP 503/);
      assert.match(error.message, /gave up after 4 attempts/);
      assert.ok(!error.message.includes(SIGNATURE));
      return true;
    });
  });

  test('a box outside the mosaic fails, saying what the mosaic covers', async () => {
    await assert.rejects(open({ bbox: { ulLat: 30.2, ulLng: 50, lrLat: 30, lrLng: 50.3 } }), (error: unknown) => {
      assert.ok(error instanceof InvalidRequestError);
      assert.match(error.message, /lies outside the mosaic, which covers lat 44\.9\d*…45\.1\d*, lng 10…10\.3\d*/);
      return true;
    });
  });

  test('a bad box or resolution fails before anything is fetched', async () => {
    const seenBefore = server.seen.length;
    await assert.rejects(open({ bbox: { ulLat: 45.5, ulLng: 10, lrLat: 45, lrLng: 10.3 } }), /0\.5° tall; at most 0\.42° a side/);
    await assert.rejects(open({ bbox: { ulLat: 45, ulLng: 10.1, lrLat: 45.1, lrLng: 10.2 } }), /wrong order.*swap ul_lat and lr_lat/);
    await assert.rejects(open({ resolution: 0 }), /resolution must be a positive number of metres/);
    assert.equal(server.seen.length, seenBefore, 'no request was sent');
  });

  test('a grid over the pixel limit fails, saying how to fix it', async () => {
    await assert.rejects(open({ resolution: 1 }, { maxPixels: 1_000_000 }), (error: unknown) => {
      assert.ok(error instanceof InvalidRequestError);
      assert.match(error.message, /more than the 1000000 allowed/);
      assert.match(error.message, /coarser resolution \(at least 7\.3 m\) or a smaller box/);
      return true;
    });
  });

  test('NDSI without a swir16 band in the mosaic fails, naming what the mosaic has', async () => {
    await assert.rejects(open({ bands: [...BANDS, { name: 'swir16', band: 5 }], indices: ['ndvi', 'ndsi'] }), (error: unknown) => {
      assert.ok(error instanceof InvalidRequestError);
      assert.match(error.message, /ndsi needs swir16, but the mosaic has 4 bands \(green=2, red=3, nir=4 by the band layout\)/);
      return true;
    });
  });
});
