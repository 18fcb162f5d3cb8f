/**
 * EarthDaily boxes without a network: request checks and their messages, WGS84 → mosaic CRS
 * transforms (Web Mercator against its closed form, UTM against values from GDAL's gdaltransform,
 * and live against gdaltransform when GDAL is installed), the grid's snapping, clipping and pixel
 * size, the overview choice, block alignment, whole band sets over local COGs (UTM uint16,
 * EPSG:4326), and the http client's counting, retries and messages against a fake fetch.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openBandSet, referenceRowsFor, type BandSet } from '../../master/source/band-set.js';
import { openTiff, closeTiff, type GeoTransform } from '../../master/source/band-source.js';
import { httpTiffOpener, type RetryPolicy, type TiffOpener } from '../../master/source/geotiff-opener.js';
import { boxEnvelope, crsTransform, edgePoints, metresToDegrees, proj4Definition } from '../../master/source/crs-transform.js';
import { openEarthDailyBandSet, validateEarthDailyInput, type EarthDailyInput } from '../../master/source/earthdaily-source.js';
import { chooseLevel, outputPixelSize, overviewTransform, planBoxGrid, type MosaicLevel } from '../../master/source/earthdaily-grid.js';
import { InvalidRequestError, SourceReadError, describeError } from '../../shared/errors.js';
import type { BoundingBox } from '../../shared/types.js';
import { hasGdal } from '../support/gdal.js';
import { checkStrips, makeMosaicFixture } from '../support/mosaic-fixture.js';
import { prng } from '../support/prng.js';
import { writeGeoTiff } from '../support/tiff-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-earthdaily-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const R = 6378137;
const BOX: BoundingBox = { ulLat: 45.1, ulLng: 10.1, lrLat: 45.05, lrLng: 10.16 };
const BANDS: EarthDailyInput['bands'] = [
  { name: 'red', band: 3 },
  { name: 'nir', band: 4 },
];
const LIMITS = { maxBboxDeg: 0.42, maxPixels: 4_000_000 };
const FAST_RETRY: RetryPolicy = { retries: 3, initialDelayMs: 1, maxDelayMs: 4 };

function input(overrides: Partial<EarthDailyInput> = {}): EarthDailyInput {
  return { url: 'https://mosaics.example.com/m.tif?sig=abc', bbox: BOX, resolution: 10, bands: BANDS, ...overrides };
}

function level(index: number, pixel: number | { x: number; y: number }, size = 1024): MosaicLevel {
  const p = typeof pixel === 'number' ? { x: pixel, y: pixel } : pixel;
  return { index, width: size, height: size, transform: { originX: 0, originY: 0, pixelWidth: p.x, pixelHeight: p.y } };
}

describe('validateEarthDailyInput', () => {
  it('accepts a box within the limits, including one exactly MAX_BBOX_DEG a side', () => {
    validateEarthDailyInput(input(), LIMITS);
    validateEarthDailyInput(input({ bbox: { ulLat: 45.42, ulLng: 10, lrLat: 45, lrLng: 10.42 } }), LIMITS);
  });

  const cases: Array<[string, Partial<EarthDailyInput>, RegExp]> = [
    ['a latitude that is not a number', { bbox: { ...BOX, ulLat: Number.NaN } }, /ul_lat must be a number of degrees, got NaN/],
    ['a latitude past the pole', { bbox: { ...BOX, ulLat: 95 } }, /ul_lat 95 is not a latitude: it must lie from −90 to 90 degrees/],
    ['a longitude past ±180', { bbox: { ...BOX, lrLng: 190 } }, /lr_lng 190 is not a longitude/],
    ['corners with north and south swapped', { bbox: { ...BOX, ulLat: 45.05, lrLat: 45.1 } }, /wrong order.*ul_lat 45\.05 ≤ lr_lat 45\.1; swap ul_lat and lr_lat/],
    ['corners with east and west swapped', { bbox: { ...BOX, ulLng: 10.16, lrLng: 10.1 } }, /wrong order.*ul_lng 10\.16 ≥ lr_lng 10\.1; swap ul_lng and lr_lng.*antimeridian/],
    ['a zero-height box', { bbox: { ...BOX, lrLat: BOX.ulLat } }, /wrong order/],
    ['a box too wide', { bbox: { ...BOX, lrLng: 10.6 } }, /the box is 0\.5° wide and 0\.05° tall; at most 0\.42° a side is allowed \(MAX_BBOX_DEG\)/],
    ['a box too tall', { bbox: { ...BOX, lrLat: 44.6 } }, /0\.5° tall; at most 0\.42° a side/],
    ['a zero resolution', { resolution: 0 }, /resolution must be a positive number of metres \(the output pixel size\), got 0/],
    ['a negative resolution', { resolution: -10 }, /got -10/],
    ['an infinite resolution', { resolution: Number.POSITIVE_INFINITY }, /got Infinity/],
    ['no bands', { bands: [] }, /no bands given/],
    ['a band number 0', { bands: [{ name: 'red', band: 0 }] }, /red: band number must be a positive integer/],
    ['a band named twice', { bands: [{ name: 'red', band: 3 }, { name: 'red', band: 2 }] }, /band "red" is given twice/],
    ['an empty URL', { url: ' ' }, /URL is empty/],
  ];
  for (const [what, overrides, message] of cases) {
    it(`rejects ${what}`, () => {
      assert.throws(() => validateEarthDailyInput(input(overrides), LIMITS), (error: unknown) => {
        assert.ok(error instanceof InvalidRequestError);
        assert.match(error.message, message);
        return true;
      });
    });
  }

  it('openEarthDailyBandSet checks before opening anything', async () => {
    const opened: string[] = [];
    const open: TiffOpener = async (uri) => {
      opened.push(uri);
      throw new Error('must not be called');
    };
    for (const [, overrides] of cases) {
      await assert.rejects(openEarthDailyBandSet(input(overrides), { ...LIMITS, open }), InvalidRequestError);
    }
    assert.deepEqual(opened, []);
  });
});

describe('WGS84 → mosaic CRS', () => {
  it('EPSG:3857 matches the closed-form Web Mercator formulas, both ways', () => {
    const crs = crsTransform(3857);
    for (const [lng, lat] of [[0, 0], [10.5, 45.25], [-122.42, 37.77], [151.2, -33.87], [179.9, 85], [-179.9, -85]] as const) {
      const [x, y] = crs.forward([lng, lat]);
      assert.ok(Math.abs(x - (R * lng * Math.PI) / 180) < 1e-6, `x at ${lng}, ${lat}`);
      assert.ok(Math.abs(y - R * Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI) / 360))) < 1e-6, `y at ${lng}, ${lat}`);
      const [lng2, lat2] = crs.inverse([x, y]);
      assert.ok(Math.abs(lng2 - lng) < 1e-9 && Math.abs(lat2 - lat) < 1e-9, 'round trip');
    }
    assert.equal(crs.units, 'metre');
    assert.ok(Math.abs(crs.maxLatitude - 85.0511287798) < 1e-9);
  });

  // Reference values from GDAL 3.6: printf "9.5 45.5\n" | gdaltransform -s_srs '+proj=longlat +datum=WGS84' -t_srs EPSG:32632
  const gdalPoints: Array<[number, [number, number], [number, number]]> = [
    [32632, [9.5, 45.5], [539063.392386974, 5038618.07680237]],
    [32632, [6.2, 60.1], [344325.230728034, 6665846.57918722]],
    [32733, [15.25, -20.75], [526025.282940749, 7705500.02603309]],
    [32733, [12.1, -0.5], [177176.037446754, 9944663.62243432]],
    [32633, [15, 60], [500000.000000001, 6651411.19036271]],
  ];
  for (const [epsg, lngLat, expected] of gdalPoints) {
    it(`EPSG:${epsg} puts ${lngLat.join(', ')} where gdaltransform does (within 1 mm)`, () => {
      const crs = crsTransform(epsg);
      const [x, y] = crs.forward(lngLat);
      assert.ok(Math.abs(x - expected[0]) < 1e-3 && Math.abs(y - expected[1]) < 1e-3, `got ${x}, ${y}; expected ${expected.join(', ')}`);
      const [lng, lat] = crs.inverse([x, y]);
      assert.ok(Math.abs(lng - lngLat[0]) < 1e-9 && Math.abs(lat - lngLat[1]) < 1e-9, 'round trip');
    });
  }

  it('agrees with gdaltransform on random points (GDAL installed)', { skip: hasGdal() ? false : 'GDAL (gdaltransform) is not installed' }, () => {
    const random = prng(32632);
    for (const epsg of [3857, 32632, 32733, 32601, 32760]) {
      const zone = epsg % 100;
      const points = Array.from({ length: 20 }, (): [number, number] => {
        const lng = epsg === 3857 ? -180 + 360 * random() : -183 + 6 * zone + (random() - 0.5) * 8;
        const lat = epsg === 3857 ? -80 + 160 * random() : epsg >= 32701 ? -80 * random() : 84 * random();
        return [lng, lat];
      });
      const text = execFileSync('gdaltransform', ['-s_srs', '+proj=longlat +datum=WGS84 +no_defs', '-t_srs', `EPSG:${epsg}`], {
        input: points.map((p) => `${p[0]} ${p[1]}`).join('\n') + '\n',
        encoding: 'utf8',
      });
      const lines = text.trim().split('\n');
      assert.equal(lines.length, points.length);
      const crs = crsTransform(epsg);
      points.forEach((point, i) => {
        const [gx, gy] = lines[i]!.trim().split(/\s+/).map(Number) as [number, number];
        const [x, y] = crs.forward(point);
        assert.ok(Math.abs(x - gx) < 1e-3 && Math.abs(y - gy) < 1e-3, `EPSG:${epsg} ${point.join(', ')}: proj4 ${x}, ${y}; GDAL ${gx}, ${gy}`);
      });
    }
  });

  it('EPSG:4326 is the identity, in degrees', () => {
    const crs = crsTransform(4326);
    assert.deepEqual(crs.forward([10.5, 45.25]), [10.5, 45.25]);
    assert.deepEqual(crs.inverse([10.5, 45.25]), [10.5, 45.25]);
    assert.equal(crs.units, 'degree');
  });

  it('knows 4326, 3857 and the WGS 84 UTM zones, and names them when refusing another code', () => {
    assert.equal(proj4Definition(32601)?.name, 'WGS 84 / UTM zone 1N');
    assert.equal(proj4Definition(32760)?.name, 'WGS 84 / UTM zone 60S');
    assert.match(proj4Definition(32733)!.definition, /\+zone=33 \+south/);
    for (const code of [2154, 32661, 32700, 27700, 900913]) {
      assert.equal(proj4Definition(code), undefined);
      assert.throws(() => crsTransform(code), (error: unknown) => {
        assert.ok(error instanceof InvalidRequestError);
        assert.match(error.message, new RegExp(`the mosaic is in EPSG:${code}, which tessera cannot cut a lat/lng box from; supported: EPSG:4326.*EPSG:3857.*UTM`));
        return true;
      });
    }
  });

  it('densifies the box edges: in UTM a parallel bulges, so corners alone would miss part of the box', () => {
    const crs = crsTransform(32633);
    const box: BoundingBox = { ulLat: 60.2, ulLng: 14.8, lrLat: 60, lrLng: 15.2 };
    const envelope = boxEnvelope(box, crs);
    const corners = [
      crs.forward([box.ulLng, box.ulLat]),
      crs.forward([box.lrLng, box.ulLat]),
      crs.forward([box.lrLng, box.lrLat]),
      crs.forward([box.ulLng, box.lrLat]),
    ];
    const cornerMinY = Math.min(...corners.map((c) => c[1]));
    assert.ok(envelope.minY < cornerMinY - 10, `the bottom edge dips below its corners (${envelope.minY} vs ${cornerMinY})`);
    assert.ok(Math.abs(envelope.minY - 6651411.19036271) < 1e-3, 'the lowest point is on the central meridian (gdaltransform)');
    const random = prng(60);
    for (let i = 0; i < 2000; i++) {
      const [x, y] = crs.forward([box.ulLng + random() * 0.4, box.lrLat + random() * 0.2]);
      assert.ok(x >= envelope.minX - 1e-6 && x <= envelope.maxX + 1e-6 && y >= envelope.minY - 1e-6 && y <= envelope.maxY + 1e-6);
    }
    assert.equal(edgePoints(0, 0, 1, 1, 16).length, 64, '16 points a side');
  });

  it('converts metres to degrees at a latitude (WGS84 lengths of a degree)', () => {
    const equator = metresToDegrees(1, 0);
    assert.ok(Math.abs(1 / equator.y - 110_574.3) < 1, `1° of latitude at the equator: ${1 / equator.y} m`);
    assert.ok(Math.abs(1 / equator.x - 111_319.5) < 1, `1° of longitude at the equator: ${1 / equator.x} m`);
    const sixty = metresToDegrees(10, 60);
    assert.ok(Math.abs(10 / sixty.y - 111_412.2) < 1, `1° of latitude at 60°: ${10 / sixty.y} m`);
    assert.ok(Math.abs(10 / sixty.x - 55_800.0) < 1, `1° of longitude at 60°: ${10 / sixty.x} m`);
  });
});

describe('output grid and level', () => {
  it('snaps to a lattice anchored at the mosaic origin and covers the envelope by less than a pixel', () => {
    const mosaic: MosaicLevel = { index: 0, width: 1000, height: 800, transform: { originX: 1000, originY: 9000, pixelWidth: 10, pixelHeight: 10 } };
    const envelope = { minX: 1234.5, minY: 5432.1, maxX: 2345.6, maxY: 6543.2 };
    for (const pixel of [10, 15, 30, 7.5]) {
      const planned = planBoxGrid(envelope, { x: pixel, y: pixel }, mosaic, 32632);
      assert.ok(planned);
      const { grid, clipped } = planned;
      assert.equal(clipped, false);
      const right = grid.originX + grid.width * pixel;
      const bottom = grid.originY - grid.height * pixel;
      assert.ok(grid.originX <= envelope.minX && envelope.minX - grid.originX < pixel);
      assert.ok(right >= envelope.maxX && right - envelope.maxX < pixel);
      assert.ok(grid.originY >= envelope.maxY && grid.originY - envelope.maxY < pixel);
      assert.ok(bottom <= envelope.minY && envelope.minY - bottom < pixel);
      const column = (grid.originX - 1000) / pixel;
      const row = (9000 - grid.originY) / pixel;
      assert.ok(Math.abs(column - Math.round(column)) < 1e-9 && Math.abs(row - Math.round(row)) < 1e-9, 'on the lattice');
      assert.equal(grid.epsg, 32632);
    }
    // An envelope already on the lattice gets exactly its cells.
    const exact = planBoxGrid({ minX: 1100, minY: 8000, maxX: 1300, maxY: 8500 }, { x: 10, y: 10 }, mosaic, 3857);
    assert.deepEqual(exact?.grid, { originX: 1100, originY: 8500, pixelWidth: 10, pixelHeight: 10, width: 20, height: 50, epsg: 3857 });
  });

  it('clips a box reaching past the mosaic, and finds none for a box outside it', () => {
    const mosaic: MosaicLevel = { index: 0, width: 100, height: 100, transform: { originX: 0, originY: 1000, pixelWidth: 10, pixelHeight: 10 } };
    const planned = planBoxGrid({ minX: -55, minY: 950, maxX: 42, maxY: 1033 }, { x: 20, y: 20 }, mosaic, 3857);
    assert.deepEqual(planned, { grid: { originX: 0, originY: 1000, pixelWidth: 20, pixelHeight: 20, width: 3, height: 3, epsg: 3857 }, clipped: true });
    // The last lattice cell may reach past the mosaic's edge (1000 m is not a multiple of 300 m).
    const wide = planBoxGrid({ minX: 900, minY: 0, maxX: 1500, maxY: 100 }, { x: 300, y: 300 }, mosaic, 3857);
    assert.equal(wide?.grid.originX, 900);
    assert.equal(wide?.grid.width, 1);
    assert.equal(planBoxGrid({ minX: 1000, minY: 0, maxX: 1100, maxY: 100 }, { x: 10, y: 10 }, mosaic, 3857), undefined, 'touching the east edge');
    assert.equal(planBoxGrid({ minX: 10, minY: 1000, maxX: 20, maxY: 1100 }, { x: 10, y: 10 }, mosaic, 3857), undefined, 'north of it');
    assert.equal(planBoxGrid({ minX: -500, minY: -500, maxX: -1, maxY: -1 }, { x: 10, y: 10 }, mosaic, 3857), undefined, 'south-west of it');
  });

  it('takes projected resolutions as CRS metres and converts them to degrees for EPSG:4326', () => {
    assert.deepEqual(outputPixelSize(10, { units: 'metre' }, BOX), { x: 10, y: 10 });
    assert.deepEqual(outputPixelSize(10, { units: 'degree' }, BOX), metresToDegrees(10, 45.075));
  });

  it('derives an overview transform from image 0', () => {
    const full: MosaicLevel = { index: 0, width: 2048, height: 2000, transform: { originX: 500, originY: 900, pixelWidth: 10, pixelHeight: 10 } };
    assert.deepEqual(overviewTransform(full, 1024, 1000), { originX: 500, originY: 900, pixelWidth: 20, pixelHeight: 20 });
    const odd = overviewTransform({ ...full, width: 1001, height: 999 }, 501, 500);
    assert.equal(odd.pixelWidth, (10 * 1001) / 501);
    assert.equal(odd.pixelHeight, (10 * 999) / 500);
  });

  it('reads the coarsest level whose pixels are no larger than the output pixels', () => {
    const levels = [level(0, 10), level(1, 20), level(2, 40), level(3, 80)];
    const chosen = (pixel: number): number => chooseLevel(levels, { x: pixel, y: pixel }).index;
    assert.equal(chosen(5), 0, 'finer than full resolution: full resolution');
    assert.equal(chosen(10), 0);
    assert.equal(chosen(19.99), 0);
    assert.equal(chosen(20), 1);
    assert.equal(chosen(20 * (1 + 1e-12)), 1);
    assert.equal(chosen(39), 1);
    assert.equal(chosen(79.9), 2);
    assert.equal(chosen(80), 3);
    assert.equal(chosen(10_000), 3);
    // Order in the file does not matter; both axes must fit (non-square degree pixels).
    assert.equal(chooseLevel([level(0, 10), level(2, 40), level(1, 20)], { x: 45, y: 45 }).index, 2);
    assert.equal(chooseLevel([level(0, { x: 1, y: 1 }), level(1, { x: 2, y: 4 })], { x: 3, y: 3 }).index, 0);
    assert.equal(chooseLevel([level(0, { x: 1, y: 1 }), level(1, { x: 2, y: 4 })], { x: 3, y: 4 }).index, 1);
  });
});

describe('referenceRowsFor', () => {
  const source = (transform: GeoTransform) => ({ layout: { tiled: true, blockWidth: 256, blockHeight: 256 }, transform });
  const t: GeoTransform = { originX: 1000, originY: 9000, pixelWidth: 10, pixelHeight: 10 };
  const setWith = (grid: BandSet['grid'], offset: { column: number; row: number }) =>
    ({ reference: { name: 'red', source: source(t) }, referenceOffset: offset, grid }) as unknown as Pick<BandSet, 'reference' | 'referenceOffset' | 'grid'>;

  it('aligns strips on block rows when output pixels are the band pixels', () => {
    const grid = { originX: 1300, originY: 8800, pixelWidth: 10, pixelHeight: 10, width: 5, height: 5, epsg: 32632 };
    assert.deepEqual(referenceRowsFor(setWith(grid, { column: 30, row: 20 })), { height: 256, offsetY: 20 });
  });
  it('does not when the grid is resampled or off the band lattice', () => {
    const coarser = { originX: 1300, originY: 8800, pixelWidth: 30, pixelHeight: 30, width: 5, height: 5, epsg: 32632 };
    assert.equal(referenceRowsFor(setWith(coarser, { column: 30, row: 20 })), undefined);
    const shifted = { originX: 1305, originY: 8800, pixelWidth: 10, pixelHeight: 10, width: 5, height: 5, epsg: 32632 };
    assert.equal(referenceRowsFor(setWith(shifted, { column: 30, row: 20 })), undefined);
  });
  it('keeps working without a grid (offsets only)', () => {
    const set = { reference: { name: 'red', source: source(t) }, referenceOffset: { column: 3, row: 4 } } as unknown as Pick<BandSet, 'reference' | 'referenceOffset'>;
    assert.deepEqual(referenceRowsFor(set), { height: 256, offsetY: 4 });
  });
});

describe('openEarthDailyBandSet on local mosaics', () => {
  it('a UTM uint16 mosaic: the grid covers the box envelope, an overview is read at 2×, every pixel matches', async () => {
    // EPSG:32633, 512 px of 10 m from 497 000 / 6 657 000: about 14.95–15.04° E, 60.004–60.05° N.
    const fixture = makeMosaicFixture({
      size: 512,
      block: 64,
      pixel: { x: 10, y: 10 },
      origin: { x: 497_000, y: 6_657_000 },
      crs: { epsg: 32633 },
      bands: 4,
      overviews: 1,
      sampleType: 'uint16',
      nodata: 0,
      nodataRect: { minX: 498_000, minY: 6_655_000, maxX: 498_500, maxY: 6_656_000 },
    });
    const path = join(dir, 'utm.tif');
    writeFileSync(path, fixture.bytes);
    const bbox: BoundingBox = { ulLat: 60.03, ulLng: 14.96, lrLat: 60.005, lrLng: 15.02 };
    const bandNumbers = new Map([['red', 3], ['nir', 4]]);
    for (const [resolution, overview] of [[10, 0], [15, 0], [20, 1], [33, 1]] as const) {
      const set = await openEarthDailyBandSet({ url: path, bbox, resolution, bands: BANDS }, LIMITS);
      try {
        assert.equal(set.overview, overview, `${resolution} m`);
        assert.equal(set.sourceUrl, path);
        assert.equal(set.clipped, false);
        assert.deepEqual(set.fetched(), { requests: 0, bytes: 0 }, 'local files fetch nothing over http');
        const envelope = boxEnvelope(bbox, crsTransform(32633));
        const { grid } = set;
        assert.ok(grid.originX <= envelope.minX && grid.originX + grid.width * resolution >= envelope.maxX);
        assert.ok(grid.originY >= envelope.maxY && grid.originY - grid.height * resolution <= envelope.minY);
        if (overview === 1) assert.equal(set.reference.source.width, 256);
        assert.match(set.reference.source.label, overview === 1 ? /\(overview 1\)$/ : /utm\.tif"$/);
        const check = await checkStrips(set, fixture, overview, bandNumbers, 64);
        assert.equal(check.outside, 0);
        assert.ok(check.nodata > 0);
        assert.equal(check.decodedSources, 0);
      } finally {
        await set.close();
      }
    }
  });

  it('an EPSG:4326 mosaic: output pixels are the resolution in degrees at the box centre', async () => {
    const fixture = makeMosaicFixture({
      size: 256,
      block: 32,
      pixel: { x: 0.0002, y: 0.0001 },
      origin: { x: 7.5, y: 46.25 },
      crs: { epsg: 4326, geographic: true },
      bands: 4,
      overviews: 1,
      sampleType: 'float32',
      nodata: -9999,
    });
    const path = join(dir, 'geographic.tif');
    writeFileSync(path, fixture.bytes);
    const bbox: BoundingBox = { ulLat: 46.24, ulLng: 7.51, lrLat: 46.23, lrLng: 7.53 };
    const set = await openEarthDailyBandSet({ url: path, bbox, resolution: 25, bands: BANDS }, LIMITS);
    try {
      const expected = metresToDegrees(25, 46.235);
      assert.equal(set.grid.pixelWidth, expected.x);
      assert.equal(set.grid.pixelHeight, expected.y);
      assert.equal(set.grid.epsg, 4326);
      // 25 m ≈ 0.000325° of longitude and 0.000225° of latitude here: overview 1 (0.0004° × 0.0002°) is too coarse in x.
      assert.equal(set.overview, 0);
      await checkStrips(set, fixture, 0, new Map([['red', 3], ['nir', 4]]), 32);
    } finally {
      await set.close();
    }
    const coarse = await openEarthDailyBandSet({ url: path, bbox, resolution: 40, bands: BANDS }, LIMITS);
    try {
      assert.equal(coarse.overview, 1);
      await checkStrips(coarse, fixture, 1, new Map([['red', 3], ['nir', 4]]), 32);
    } finally {
      await coarse.close();
    }
  });

  it('refuses a mosaic in an unsupported CRS and a box past Web Mercator’s latitudes', async () => {
    const write = (name: string, epsg: number): string => {
      const path = join(dir, name);
      writeFileSync(path, writeGeoTiff({ width: 16, height: 16, sampleType: 'uint16', samples: [1, 2, 3, 4].map(() => new Uint16Array(256)), crs: { epsg }, origin: { x: 0, y: 0 }, pixelSize: 10 }));
      return path;
    };
    await assert.rejects(openEarthDailyBandSet(input({ url: write('lambert.tif', 2154) }), LIMITS), /EPSG:2154, which tessera cannot cut a lat\/lng box from/);
    await assert.rejects(
      openEarthDailyBandSet(input({ url: write('mercator.tif', 3857), bbox: { ulLat: 86, ulLng: 10, lrLat: 85.8, lrLng: 10.2 } }), LIMITS),
      /the box reaches latitude 86, but the mosaic's CRS \(EPSG:3857, WGS 84 \/ Pseudo-Mercator\) covers latitudes up to ±85\.0511°/,
    );
  });
});

describe('the generated COG fixture', () => {
  it('is what GDAL reads: georeferencing, overviews, no-data and the pixel values of every level', { skip: hasGdal() ? false : 'GDAL (gdalinfo, gdallocationinfo) is not installed' }, () => {
    const fixture = makeMosaicFixture({
      size: 256,
      block: 64,
      pixel: { x: 10, y: 10 },
      origin: { x: 1000, y: 9000 },
      crs: { epsg: 3857 },
      bands: 4,
      overviews: 2,
      sampleType: 'float32',
      nodata: -9999,
    });
    const path = join(dir, 'gdal-check.tif');
    writeFileSync(path, fixture.bytes);
    const info = JSON.parse(execFileSync('gdalinfo', ['-json', path], { encoding: 'utf8' })) as {
      geoTransform: number[];
      size: number[];
      bands: Array<{ noDataValue?: number; block: number[]; overviews?: Array<{ size: number[] }> }>;
      metadata?: { IMAGE_STRUCTURE?: Record<string, string> };
    };
    assert.deepEqual(info.geoTransform, [1000, 10, 0, 9000, 0, -10]);
    assert.deepEqual(info.size, [256, 256]);
    assert.equal(info.bands.length, 4);
    assert.equal(info.bands[0]!.noDataValue, -9999);
    assert.deepEqual(info.bands[0]!.block, [64, 64]);
    assert.deepEqual(info.bands[0]!.overviews?.map((o) => o.size), [[128, 128], [64, 64]]);
    assert.equal(info.metadata?.IMAGE_STRUCTURE?.['COMPRESSION'], 'DEFLATE');
    const random = prng(99);
    for (let levelIndex = 0; levelIndex <= 2; levelIndex++) {
      const l = fixture.levels[levelIndex]!;
      for (let band = 0; band < 4; band++) {
        const pixels = Array.from({ length: 10 }, () => [Math.floor(random() * l.width), Math.floor(random() * l.height)] as const);
        // gdallocationinfo takes full-resolution pixel coordinates, also with -overview.
        const args = ['-valonly', '-b', String(band + 1), ...(levelIndex > 0 ? ['-overview', String(levelIndex)] : []), path];
        const text = execFileSync('gdallocationinfo', args, { input: pixels.map(([x, y]) => `${x * 2 ** levelIndex} ${y * 2 ** levelIndex}`).join('\n') + '\n', encoding: 'utf8' });
        const values = text.trim().split('\n').map(Number);
        assert.deepEqual(values, pixels.map(([x, y]) => l.bands[band]![y * l.width + x]), `level ${levelIndex}, band ${band + 1}`);
      }
    }
  });
});

describe('remote reads: counting, retries, messages', () => {
  const SECRET = 'sig-Very-Secret-42';
  const URL_ = `https://mosaics.example.com/a/b.tif?sig=${SECRET}&se=2030`;
  const tiff = writeGeoTiff({
    width: 64,
    height: 64,
    sampleType: 'uint16',
    samples: [new Uint16Array(64 * 64).fill(7)],
    tileSize: 32,
    compression: 8,
    crs: { epsg: 32632 },
    origin: { x: 500_000, y: 5_000_000 },
    pixelSize: 10,
  });

  type Step = 'ok' | 'throw' | 'body-error' | 'ignore-range' | number;
  /** A fetch serving `tiff` by Range, whose first answers follow `script`. */
  function fakeFetch(script: Step[]): { fetch: typeof fetch; calls: () => number; sent: () => number } {
    let calls = 0;
    let sent = 0;
    const fake = async (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
      calls++;
      assert.equal(String(url), URL_, 'the full signed URL is requested');
      const step = script.shift() ?? 'ok';
      if (step === 'throw') throw new TypeError('fetch failed', { cause: new Error(`connect ECONNRESET while fetching ${URL_}`) });
      if (typeof step === 'number') return new Response('nope', { status: step, statusText: step === 403 ? 'Forbidden' : '' });
      if (step === 'ignore-range') return new Response(tiff, { status: 200 });
      const range = new Headers(init?.headers).get('range') ?? '';
      const [, a, b] = /bytes=(\d+)-(\d+)/.exec(range) ?? [];
      const start = Number(a);
      const end = Math.min(Number(b), tiff.length - 1);
      const headers = { 'Content-Range': `bytes ${start}-${end}/${tiff.length}` };
      if (step === 'body-error') {
        const body = new ReadableStream<Uint8Array>({ start: (controller) => controller.error(new Error('socket hang up')) });
        return new Response(body, { status: 206, headers });
      }
      sent += end + 1 - start;
      return new Response(tiff.subarray(start, end + 1), { status: 206, headers });
    };
    return { fetch: fake as typeof fetch, calls: () => calls, sent: () => sent };
  }

  const open = (script: Step[], retry: RetryPolicy = FAST_RETRY) => {
    const fake = fakeFetch(script);
    return { fake, opened: openTiff(URL_, { open: httpTiffOpener({ fetch: fake.fetch }), retry, what: 'the EarthDaily mosaic' }) };
  };

  const noSecret = (error: unknown): void => {
    assert.ok(error instanceof Error);
    assert.ok(!error.message.includes(SECRET), `no signature in: ${error.message}`);
    assert.ok(!describeError(error).includes(SECRET));
    assert.ok(error.message.includes('https://mosaics.example.com/a/b.tif'), `names the URL: ${error.message}`);
  };

  it('counts requests and bytes, and retries network errors, broken bodies, 5xx and 429', async () => {
    const { fake, opened } = open(['throw', 503, 'body-error', 429], { ...FAST_RETRY, retries: 4 });
    const file = await opened;
    try {
      assert.ok(fake.calls() >= 5, 'four failed attempts, then the reads');
      const counts = file.meter!.counts();
      assert.equal(counts.requests, fake.calls(), 'every attempt is counted');
      assert.ok(counts.bytes > 0);
      assert.equal(counts.bytes, fake.sent(), 'bytes of the bodies received');
    } finally {
      await closeTiff(file);
    }
  });

  it('gives up after the retries, saying what happened, without the signature', async () => {
    const { fake, opened } = open(['throw', 'throw', 'throw', 'throw', 'throw']);
    await assert.rejects(opened, (error: unknown) => {
      assert.ok(error instanceof SourceReadError);
      assert.match(error.message, /the EarthDaily mosaic: cannot open "https:\/\/mosaics\.example\.com\/a\/b\.tif" as a GeoTIFF: network error: fetch failed \(connect ECONNRESET/);
      assert.match(error.message, /gave up after 4 attempts/);
      noSecret(error);
      return true;
    });
    assert.equal(fake.calls(), 4);
  });

  it('never retries 4xx: 403 is refused, 404 not found, 400 as answered', async () => {
    const refused = open([403]);
    await assert.rejects(refused.opened, (error: unknown) => {
      assert.match((error as Error).message, /the server refused the URL \(HTTP 403 Forbidden\): access denied — a signed URL's signature may have expired/);
      noSecret(error);
      return true;
    });
    assert.equal(refused.fake.calls(), 1);
    for (const [status, message] of [[404, /not found \(HTTP 404\)/], [410, /not found \(HTTP 410\)/], [401, /refused the URL \(HTTP 401/], [400, /the server answered HTTP 400/]] as const) {
      const attempt = open([status]);
      await assert.rejects(attempt.opened, (error: unknown) => {
        assert.match((error as Error).message, message);
        noSecret(error);
        return true;
      });
      assert.equal(attempt.fake.calls(), 1, `HTTP ${status} is not retried`);
    }
  });

  it('refuses a server that ignores Range requests instead of downloading the whole file', async () => {
    const { opened } = open(['ignore-range']);
    await assert.rejects(opened, /ignores HTTP Range requests/);
  });

  it('stops waiting between retries when the request is aborted', async () => {
    const controller = new AbortController();
    const fake = fakeFetch([503, 503, 503]);
    const opened = openTiff(URL_, { open: httpTiffOpener({ fetch: fake.fetch }), retry: { retries: 3, initialDelayMs: 60_000, maxDelayMs: 60_000 }, signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    const started = Date.now();
    await assert.rejects(opened);
    assert.ok(Date.now() - started < 5_000, 'aborted promptly');
    assert.equal(fake.calls(), 1);
  });

  it('openBandSet reports what its http bands fetched, and 0/0 for local files', async () => {
    const fake = fakeFetch([]);
    const set = await openBandSet([{ name: 'red', uri: URL_, band: 1 }], { open: httpTiffOpener({ fetch: fake.fetch }) });
    try {
      assert.ok(set.fetched().requests > 0);
      const before = set.fetched();
      assert.equal(before.requests, fake.calls());
      assert.equal(before.bytes, fake.sent());
    } finally {
      await set.close();
    }
    const path = join(dir, 'local.tif');
    writeFileSync(path, tiff);
    const local = await openBandSet([{ name: 'red', uri: path, band: 1 }]);
    try {
      assert.deepEqual(local.fetched(), { requests: 0, bytes: 0 });
    } finally {
      await local.close();
    }
  });
});
