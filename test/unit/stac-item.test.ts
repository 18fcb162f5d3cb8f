/**
 * STAC items as inputs: bands found by Earth Search keys, Planetary Computer keys or eo:bands common
 * names; hrefs resolved against the item; the offset rules in their order; readable refusals.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidRequestError } from '../../shared/errors.js';
import { parseStacItem, resolveHref, resolveOffset, resolveStacBands, type StacItem } from '../../master/source/stac-item.js';

function earthSearchItem(properties: Record<string, unknown> = {}, assets: Record<string, unknown> = {}): unknown {
  return {
    type: 'Feature',
    stac_version: '1.0.0',
    id: 'S2B_33UUP_20230704_0_L2A',
    properties: { datetime: '2023-07-04T10:15:59Z', platform: 'sentinel-2b', 's2:processing_baseline': '05.09', ...properties },
    assets: {
      red: { href: 'https://data.example/33UUP/B04.tif', 'raster:bands': [{ scale: 0.0001, offset: -0.1 }] },
      nir: { href: 'https://data.example/33UUP/B08.tif', 'raster:bands': [{ scale: 0.0001, offset: -0.1 }] },
      green: { href: 'B03.tif', 'raster:bands': [{ scale: 0.0001, offset: -0.1 }] },
      swir16: { href: './B11.tif', 'raster:bands': [{ scale: 0.0001, offset: -0.1 }] },
      scl: { href: 'SCL.tif' },
      ...assets,
    },
  };
}

function planetaryItem(baseline: string): unknown {
  return {
    type: 'Feature',
    id: 'S2A_MSIL2A_20220615T101611_R065_T32TLS',
    properties: { datetime: '2022-06-15T10:16:11Z', platform: 'Sentinel-2A', 's2:processing_baseline': baseline },
    assets: {
      B04: { href: 'https://pc.example/T32TLS/B04_10m.tif?sv=2021&sig=SECRET' },
      B08: { href: 'https://pc.example/T32TLS/B08_10m.tif?sv=2021&sig=SECRET' },
      B03: { href: 'https://pc.example/T32TLS/B03_10m.tif?sv=2021&sig=SECRET' },
      B11: { href: 'https://pc.example/T32TLS/B11_20m.tif?sv=2021&sig=SECRET' },
      SCL: { href: 'https://pc.example/T32TLS/SCL_20m.tif?sv=2021&sig=SECRET' },
      visual: { href: 'https://pc.example/T32TLS/TCI.tif' },
    },
  };
}

const ITEM_URL = 'https://catalog.example/collections/sentinel-2-l2a/items/S2B_33UUP_20230704_0_L2A';

test('Earth Search keys: bands by common name, relative hrefs resolved against the item URL', () => {
  const item = parseStacItem(earthSearchItem(), ITEM_URL);
  const bands = resolveStacBands(item, ['red', 'nir', 'green', 'swir16', 'scl']);
  assert.equal(bands.get('red')?.href, 'https://data.example/33UUP/B04.tif');
  assert.equal(bands.get('green')?.href, 'https://catalog.example/collections/sentinel-2-l2a/items/B03.tif');
  assert.equal(bands.get('swir16')?.href, 'https://catalog.example/collections/sentinel-2-l2a/items/B11.tif');
  assert.equal(bands.get('scl')?.key, 'scl');
  assert.deepEqual(item.summary, { id: 'S2B_33UUP_20230704_0_L2A', datetime: '2023-07-04T10:15:59Z', platform: 'sentinel-2b', processingBaseline: '05.09' });
});

test('Planetary Computer keys: B04/B08/B03/B11/SCL, signed hrefs kept whole', () => {
  const item = parseStacItem(planetaryItem('04.00'), '/data/items/pc.json');
  const bands = resolveStacBands(item, ['red', 'nir', 'green', 'swir16', 'scl']);
  assert.equal(bands.get('red')?.key, 'B04');
  assert.equal(bands.get('swir16')?.href, 'https://pc.example/T32TLS/B11_20m.tif?sv=2021&sig=SECRET');
  assert.equal(bands.get('scl')?.key, 'SCL');
});

test('eo:bands common names find a band under any key; a local item resolves relative paths beside it', () => {
  const item = parseStacItem(
    { type: 'Feature', id: 'x', properties: {}, assets: { band_4: { href: 'b4.tif', 'eo:bands': [{ name: 'B4', common_name: 'red' }] } } },
    '/data/items/x.json',
  );
  const red = resolveStacBands(item, ['red']).get('red');
  assert.equal(red?.key, 'band_4');
  assert.equal(red?.href, '/data/items/b4.tif');
});

test('a band the item lacks: the message names what was looked for and what the item has', () => {
  const item = parseStacItem(planetaryItem('04.00'), ITEM_URL);
  assert.throws(
    () => resolveStacBands(item, ['swir22']),
    (error: unknown) =>
      error instanceof InvalidRequestError &&
      /no asset for swir22 \(looked for the keys "swir22" and "B12"/.test(error.message) &&
      /its assets: B04, B08, B03, B11, SCL, visual/.test(error.message),
  );
});

test('not an item: an array, a collection, search results, no id, no assets — each said in words', () => {
  const refusals: [unknown, RegExp][] = [
    [[1, 2], /holds an array, not a JSON object/],
    [{ type: 'Collection', id: 'sentinel-2-l2a' }, /it is a STAC collection; give the URL of one item/],
    [{ type: 'FeatureCollection', features: [] }, /an item collection \(search results\)/],
    [{ type: 'Feature', assets: {} }, /has no "id"/],
    [{ type: 'Feature', id: 'a' }, /STAC item "a" has no "assets"/],
  ];
  for (const [json, message] of refusals) {
    assert.throws(() => parseStacItem(json, 'https://x.example/item?sig=SECRET'), (error: unknown) => {
      assert.ok(error instanceof InvalidRequestError);
      assert.match(error.message, message);
      assert.doesNotMatch(error.message, /SECRET/);
      return true;
    });
  }
});

function offsetOf(json: unknown, explicit?: number): ReturnType<typeof resolveOffset> {
  const item: StacItem = parseStacItem(json, ITEM_URL);
  return resolveOffset(item, [...resolveStacBands(item, ['red', 'nir']).values()], explicit);
}

test('offset rules, in order: request, boa_offset_applied, raster:bands, baseline ≥ 04.00, none', () => {
  assert.deepEqual(
    { ...offsetOf(earthSearchItem(), -500), reason: '' },
    { value: -500, source: 'request', reason: '' },
  );
  assert.equal(offsetOf(earthSearchItem({ 'earthsearch:boa_offset_applied': true })).source, 'boa-offset-applied');
  assert.equal(offsetOf(earthSearchItem({ 'earthsearch:boa_offset_applied': true })).value, 0);
  const raster = offsetOf(earthSearchItem());
  assert.deepEqual([raster.value, raster.source], [-1000, 'raster:bands']);
  const baseline4 = offsetOf(planetaryItem('04.00'));
  assert.deepEqual([baseline4.value, baseline4.source], [-1000, 'processing-baseline']);
  const baseline3 = offsetOf(planetaryItem('03.01'));
  assert.deepEqual([baseline3.value, baseline3.source], [0, 'none']);
  assert.match(baseline3.reason, /03\.01 < 04\.00/);
  assert.deepEqual([offsetOf(planetaryItem('5.1')).value, offsetOf(planetaryItem('10.00')).value], [-1000, -1000]);
});

test('assets that advertise different offsets are refused: the request must say', () => {
  const json = earthSearchItem({}, { nir: { href: 'B08.tif', 'raster:bands': [{ scale: 0.0001, offset: -0.2 }] } });
  assert.throws(() => offsetOf(json), /advertise different offsets .*set reflectance_offset in the request/);
});

test('resolveHref: absolute URLs stay, relative ones follow the item, paths stay absolute', () => {
  assert.equal(resolveHref('s3://bucket/B04.tif', ITEM_URL), 's3://bucket/B04.tif');
  assert.equal(resolveHref('../B04.tif', 'https://a.example/x/y/item.json'), 'https://a.example/x/B04.tif');
  assert.equal(resolveHref('/abs/B04.tif', '/data/item.json'), '/abs/B04.tif');
});

test('an implausible raster:bands offset is refused, not applied', () => {
  const json = earthSearchItem({}, {
    red: { href: 'B04.tif', 'raster:bands': [{ scale: 0.00001, offset: -0.5 }] },
    nir: { href: 'B08.tif', 'raster:bands': [{ scale: 0.00001, offset: -0.5 }] },
  });
  assert.throws(() => offsetOf(json), /means -50000 per digital number, beyond the ±10000 .*set reflectance_offset/);
});
