/**
 * parseRequest: a request row typed in by a person becomes a MosaicJob, or an InvalidRequestError
 * whose message says what to change.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidRequestError } from '../../shared/errors.js';
import { parseRequest, type RequestDefaults, type RequestFields } from '../../master/request-spec.js';
import type { Sentinel2Job } from '../../shared/types.js';

const DEFAULTS: RequestDefaults = { earthdailyBands: { blue: 1, green: 2, red: 3, nir: 4 } };

/** parseRequest for rows that must be Sentinel-2 requests. */
function sentinel2(fields: RequestFields): Sentinel2Job {
  const job = parseRequest(fields, DEFAULTS);
  assert.equal(job.source, 'sentinel2');
  return job as Sentinel2Job;
}

const ALL_BANDS = {
  red: '/data/B04.tif',
  nir: '/data/B08.tif',
  green: '/data/B03.tif',
  swir16: '/data/B11.tif',
};

function row(overrides: Partial<RequestFields> = {}): RequestFields {
  return {
    id: 'req-1',
    source: 'sentinel2',
    bands: ALL_BANDS,
    indices: ['ndvi'],
    reflectanceOffset: null,
    stripRows: null,
    ...overrides,
  };
}

/** Asserts parseRequest rejects `fields` with an InvalidRequestError whose message matches every pattern. */
function rejects(fields: RequestFields, ...patterns: RegExp[]): string {
  let caught: unknown;
  try {
    parseRequest(fields, DEFAULTS);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof InvalidRequestError, `expected an InvalidRequestError, got ${String(caught)}`);
  for (const pattern of patterns) assert.match(caught.message, pattern);
  return caught.message;
}

describe('parseRequest: valid rows', () => {
  it('turns a row into a job with defaults', () => {
    const job = sentinel2(row());
    assert.deepEqual(job, {
      id: 'req-1',
      source: 'sentinel2',
      bands: [
        { name: 'red', uri: '/data/B04.tif', band: 1 },
        { name: 'nir', uri: '/data/B08.tif', band: 1 },
      ],
      indices: ['ndvi'],
      reflectanceOffset: 0,
      stripRows: undefined,
      formats: ['png'],
    });
  });

  it('keeps only the bands the indices need, in band order (not the order given)', () => {
    const ndsi = sentinel2(row({ indices: ['ndsi'] }));
    assert.deepEqual(
      ndsi.bands.map((b) => b.name),
      ['green', 'swir16'],
    );
    const both = sentinel2(
      row({
        indices: ['ndsi', 'ndvi'],
        bands: { swir16: 'd.tif', nir: 'b.tif', green: 'c.tif', red: 'a.tif' },
      }));
    assert.deepEqual(
      both.bands.map((b) => [b.name, b.uri]),
      [
        ['red', 'a.tif'],
        ['nir', 'b.tif'],
        ['green', 'c.tif'],
        ['swir16', 'd.tif'],
      ],
    );
    assert.deepEqual(both.indices, ['ndsi', 'ndvi']);
  });

  it('does not require bands no index uses', () => {
    const job = sentinel2(row({ bands: { red: 'r.tif', nir: 'n.tif' } }));
    assert.deepEqual(
      job.bands.map((b) => b.name),
      ['red', 'nir'],
    );
  });

  it('parses #N band numbers and keeps URLs (query strings included) intact', () => {
    const job = sentinel2(
      row({ bands: { red: '/data/scene.tif#3', nir: 'https://example.com/scene.tif?sig=abc#4' } }));
    assert.deepEqual(job.bands, [
      { name: 'red', uri: '/data/scene.tif', band: 3 },
      { name: 'nir', uri: 'https://example.com/scene.tif?sig=abc', band: 4 },
    ]);
  });

  it('normalises case and whitespace of source, indices and band names; drops duplicate indices', () => {
    const job = sentinel2(
      row({ source: ' Sentinel2 ', indices: [' NDVI ', 'ndvi', ''], bands: { ' Red ': 'r.tif', NIR: 'n.tif' } }));
    assert.equal(job.source, 'sentinel2');
    assert.deepEqual(job.indices, ['ndvi']);
    assert.deepEqual(
      job.bands.map((b) => b.name),
      ['red', 'nir'],
    );
  });

  it('keeps the row\'s strip rows; none leaves strip sizes to the master\'s pixel budget', () => {
    assert.equal(parseRequest(row(), DEFAULTS).stripRows, undefined);
    for (const stripRows of [1, 256, 65_536]) assert.equal(parseRequest(row({ stripRows }), DEFAULTS).stripRows, stripRows);
  });

  it('keeps a finite reflectance offset', () => {
    assert.equal(sentinel2(row({ reflectanceOffset: -1000 })).reflectanceOffset, -1000);
    assert.equal(sentinel2(row({ reflectanceOffset: 0.5 })).reflectanceOffset, 0.5);
  });
});

describe('parseRequest: each bad input says what to change', () => {
  it('unknown source: names it and lists the supported sources', () => {
    rejects(row({ source: 'landsat9' }), /unknown source "landsat9"/, /sentinel2/);
  });

  for (const indices of [null, [], ['', '  ']] as const) {
    it(`no indices (${JSON.stringify(indices)}): lists the indices to choose from`, () => {
      rejects(row({ indices }), /no index requested/, /ndvi/, /ndsi/);
    });
  }

  it('unknown index: names it and lists the known ones', () => {
    rejects(row({ indices: ['ndvi', 'gndvi'] }), /unknown index "gndvi"/, /ndvi, ndsi/);
  });

  for (const [what, bands] of [
    ['an array', [['red', 'r.tif']]],
    ['a string', '{"red": "r.tif"}'],
    ['null', null],
    ['a number', 42],
    ['missing (undefined)', undefined],
  ] as const) {
    it(`bands ${what}: asks for a JSON object from band name to file, with an example`, () => {
      rejects(row({ bands }), /bands must be a JSON object/, /"red": /);
    });
  }

  it('unknown band name: names it and lists the STAC names', () => {
    rejects(row({ bands: { ...ALL_BANDS, b08: 'x.tif' } }), /unknown band "b08"/, /red, nir, green, swir16/);
  });

  it('missing band: names the index and the band, and says to add it', () => {
    const message = rejects(row({ bands: { red: 'r.tif' } }), /ndvi/, /"nir"/, /add it to bands/);
    assert.doesNotMatch(message, /ndsi/);
    rejects(row({ indices: ['ndsi'], bands: { green: 'g.tif' } }), /ndsi needs band "swir16"/);
  });

  for (const value of [null, '']) {
    it(`band given as ${JSON.stringify(value)} counts as missing`, () => {
      rejects(row({ bands: { red: 'r.tif', nir: value } }), /ndvi needs band "nir"/);
    });
  }

  for (const value of [7, true, { path: 'n.tif' }, ['n.tif']]) {
    it(`band value ${JSON.stringify(value)} (not a string): says it must be a path or URL string`, () => {
      rejects(row({ bands: { red: 'r.tif', nir: value } }), /band "nir" must be a file path or URL string/);
    });
  }

  for (const reference of ['n.tif#', 'n.tif#0', 'n.tif#x', 'n.tif#1.5', 'n.tif#-2']) {
    it(`bad # suffix ${JSON.stringify(reference)}: says # must be followed by a positive integer`, () => {
      rejects(row({ bands: { red: 'r.tif', nir: reference } }), /is not a band number/, /positive integer/, /n\.tif#1/);
    });
  }

  it('a band reference that is only "#N" has no path', () => {
    rejects(row({ bands: { red: 'r.tif', nir: '#2' } }), /no path or URL before "#"/);
  });

  for (const stripRows of [0, 65_537, 100.5, -256, Number.NaN]) {
    it(`strip_rows ${stripRows}: gives the allowed range and the value`, () => {
      rejects(row({ stripRows }), /strip_rows must be a whole number of rows from 1 to 65536/, new RegExp(`got ${stripRows}`));
    });
  }

  for (const reflectanceOffset of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    it(`reflectance offset ${reflectanceOffset}: asks for a finite number`, () => {
      rejects(row({ reflectanceOffset }), /reflectance_offset must be a finite number/, /-1000/);
    });
  }

  for (const reflectanceOffset of [1e300, -1e300, 10_001, -10_000.5]) {
    it(`reflectance offset ${reflectanceOffset}: implausible, refused with the allowed range`, () => {
      rejects(row({ reflectanceOffset }), new RegExp(`reflectance_offset = ${String(reflectanceOffset).replace(/[+.]/g, '\\$&')} is not a plausible offset`), /from -10000 to 10000/, /-1000/);
    });
  }

  it('accepts offsets up to ±10000', () => {
    assert.equal(sentinel2(row({ reflectanceOffset: -10_000 })).reflectanceOffset, -10_000);
    assert.equal(sentinel2(row({ reflectanceOffset: 10_000 })).reflectanceOffset, 10_000);
  });

  it('indices holding NULLs (a text[] typed in psql): the NULLs name nothing', () => {
    const indices = ['ndvi', null] as unknown as string[];
    assert.deepEqual(sentinel2(row({ indices })).indices, ['ndvi']);
    rejects(row({ indices: [null] as unknown as string[] }), /no index requested/);
  });

  it('a corner that is NaN is said to be no number, not to be missing', () => {
    rejects(row({ source: 'earthdaily', bands: {}, url: 'https://m.example/m.tif', ulLat: Number.NaN, ulLng: 6.55, lrLat: 46.48, lrLng: 6.62, resolution: 10 }), /ul_lat must be a finite number of WGS84 degrees, got NaN/);
  });
});

describe('parseRequest: earthdaily rows', () => {
  const box = { ulLat: 46.52, ulLng: 6.55, lrLat: 46.48, lrLng: 6.62 };
  function earthdaily(overrides: Partial<RequestFields> = {}): RequestFields {
    return row({ source: 'earthdaily', bands: {}, url: 'https://mosaics.example/m.tif?sig=abc', ...box, resolution: 10, ...overrides });
  }

  it('takes the box, resolution and URL, and the bands the indices need from the layout', () => {
    const job = parseRequest(earthdaily({ indices: ['ndvi'] }), DEFAULTS);
    assert.equal(job.source, 'earthdaily');
    assert.ok(job.source === 'earthdaily');
    assert.deepEqual(job.bbox, box);
    assert.equal(job.resolution, 10);
    assert.equal(job.url, 'https://mosaics.example/m.tif?sig=abc');
    assert.deepEqual(job.bands, [
      { name: 'red', band: 3 },
      { name: 'nir', band: 4 },
    ]);
  });

  it('falls back to the master default URL, and fails clearly without one', () => {
    const withDefault = parseRequest(earthdaily({ url: null }), { ...DEFAULTS, earthdailyUrl: 'https://default.example/m.tif' });
    assert.ok(withDefault.source === 'earthdaily');
    assert.equal(withDefault.url, 'https://default.example/m.tif');
    rejects(earthdaily({ url: null }), /no mosaic URL/, /EARTHDAILY_MOSAIC_URL/);
    rejects(earthdaily({ url: 'ftp://x/m.tif' }), /http\(s\)/);
  });

  it('NDSI without a swir band in the layout fails and says how to add one', () => {
    rejects(earthdaily({ indices: ['ndsi'] }), /ndsi needs a swir16 band/, /blue=1, green=2, red=3, nir=4/, /\{"swir16": 5\}/);
    const job = parseRequest(earthdaily({ indices: ['ndsi'], bands: { swir16: '5' } }), DEFAULTS);
    assert.ok(job.source === 'earthdaily');
    assert.deepEqual(job.bands, [
      { name: 'green', band: 2 },
      { name: 'swir16', band: 5 },
    ]);
  });

  it('rejects corners in the wrong order, missing or out of range, and a resolution that is not positive', () => {
    rejects(earthdaily({ ulLat: 46.48, lrLat: 46.52 }), /wrong order/, /ul_lat > lr_lat/);
    rejects(earthdaily({ ulLng: 6.62, lrLng: 6.55 }), /wrong order/);
    rejects(earthdaily({ ulLat: null }), /ul_lat is missing/);
    rejects(earthdaily({ lrLng: 200 }), /lr_lng = 200 is not a valid longitude/);
    rejects(earthdaily({ resolution: 0 }), /resolution must be a positive number/);
    rejects(earthdaily({ resolution: -10 }), /resolution must be a positive number/);
    rejects(earthdaily({ resolution: null }), /resolution must be a positive number/);
  });

  it('rejects a bands override that is not name → number', () => {
    rejects(earthdaily({ bands: { swir16: 'five' } }), /bands: "swir16=five" is not NAME=NUMBER/);
    rejects(earthdaily({ bands: { thermal: 7 } }), /unknown band "thermal"/);
    rejects(earthdaily({ bands: ['swir16'] }), /maps band names to band numbers/);
  });
});

describe('parseRequest: bounded inputs', () => {
  it('refuses a bands value over 64 KiB of JSON, a url over 16 Ki characters and more than 16 indices', () => {
    rejects(row({ bands: { red: `/data/${'x'.repeat(70_000)}.tif`, nir: 'n.tif' } }), /bands holds \d+ bytes of JSON; at most 65536 are read/);
    rejects(row({ source: 'earthdaily', url: `https://e.example/m.tif?sig=${'a'.repeat(17_000)}` }), /url is \d+ characters long; at most 16384 are read/);
    rejects(row({ indices: Array.from({ length: 17 }, () => 'ndvi') }), /17 indices requested/);
  });
});

describe('parseRequest: stac rows', () => {
  const stac = (overrides: Partial<RequestFields> = {}): RequestFields => row({ source: 'stac', bands: {}, url: 'https://earth-search.example/items/S2B_1', ...overrides });

  it('names the item and the bands its indices need; the offset is the item\'s unless the row gives one', () => {
    const job = parseRequest(stac({ indices: ['ndvi', 'ndsi'] }), DEFAULTS);
    assert.deepEqual(job, {
      id: 'req-1',
      source: 'stac',
      url: 'https://earth-search.example/items/S2B_1',
      indices: ['ndvi', 'ndsi'],
      bandNames: ['red', 'nir', 'green', 'swir16'],
      reflectanceOffset: 0,
      offsetGiven: false,
      stripRows: undefined,
      formats: ['png'],
      // The item's scl asset, when it has one, masks by the default classes (the master looks when it reads the item).
      mask: { classes: [0, 1, 3, 8, 9, 10], required: false },
    });
    const given = parseRequest(stac({ reflectanceOffset: 0 }), DEFAULTS);
    assert.equal(given.source === 'stac' && given.offsetGiven, true, 'an explicit 0 is given too');
    assert.equal(parseRequest(stac({ url: '/data/items/S2B_1.json', bands: null }), DEFAULTS).source, 'stac');
  });

  it('refuses a row without url, with another scheme, or with bands of its own', () => {
    rejects(stac({ url: null }), /a stac request needs url: the URL of a STAC item/);
    rejects(stac({ url: 's3://bucket/item.json?sig=SECRET' }), /neither an http\(s\) URL nor a path/);
    assert.doesNotMatch(rejects(stac({ url: 's3://bucket/item.json?sig=SECRET' })), /SECRET/);
    rejects(stac({ bands: { red: '/data/B04.tif' } }), /for stac, the bands come from the item's assets: leave bands empty/);
  });
});

describe('parseRequest: SCL masking (mask_classes)', () => {
  const withScl = { ...ALL_BANDS, scl: '/data/SCL_20m.tif' };

  it('with an scl band and mask_classes NULL, masks the default classes and reads scl last', () => {
    const job = sentinel2(row({ bands: withScl }));
    assert.deepEqual(job.mask, { classes: [0, 1, 3, 8, 9, 10], required: false });
    assert.deepEqual(job.bands.map((band) => band.name), ['red', 'nir', 'scl']);
  });

  it('mask_classes overrides the classes (sorted, each once)', () => {
    assert.deepEqual(sentinel2(row({ bands: withScl, maskClasses: [9, 3, 9] })).mask, { classes: [3, 9], required: true });
  });

  it('mask_classes {} turns masking off, and the scl band is not read', () => {
    const job = sentinel2(row({ bands: withScl, maskClasses: [] }));
    assert.equal(job.mask, undefined);
    assert.deepEqual(job.bands.map((band) => band.name), ['red', 'nir']);
  });

  it('without an scl band: no masking by default, an error when classes are named', () => {
    assert.equal(sentinel2(row()).mask, undefined);
    rejects(row({ maskClasses: [3, 8] }), /^mask_classes \{3,8\} needs the scl band \(Sentinel-2 Scene Classification, 20 m\): add "scl" to bands, or set mask_classes to \{\} for no masking$/);
  });

  it('refuses classes that are not SCL classes, and masking an earthdaily mosaic', () => {
    rejects(row({ bands: withScl, maskClasses: [12] }), /^mask_classes must be Sentinel-2 SCL class numbers from 0 to 11 \(e\.g\. \{0,1,3,8,9,10\}; \{\} for no masking\), got \{12\}$/);
    rejects(row({ bands: withScl, maskClasses: [1.5] }), /got \{1\.5\}$/);
    rejects(row({ bands: withScl, maskClasses: [null] }), /got \{null\}$/);
    const earthdaily = row({ source: 'earthdaily', bands: {}, url: 'https://example.test/m.tif', ulLat: 1, ulLng: 1, lrLat: 0, lrLng: 2, resolution: 10 });
    assert.equal(parseRequest(earthdaily, DEFAULTS).mask, undefined);
    rejects({ ...earthdaily, maskClasses: [9] }, /^mask_classes needs an scl band, and an earthdaily mosaic has none/);
  });

  it('the expression may not name scl: it is a classification, not a reflectance', () => {
    rejects(row({ bands: withScl, expression: 'scl * 2' }), /^the expression has "scl", which is not a band/);
  });
});
