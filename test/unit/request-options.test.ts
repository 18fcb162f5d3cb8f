/**
 * The request options shared by `submit` and `run`: `--band NAME=PATH[#N]` (repeated) and
 * `--index ndvi,ndsi` become a request row; mistakes become clear errors.
 */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { addRequestOptions, parseLatLng, requestFromOptions, type RequestCliOptions } from '../../cli/request-options.js';
import { UsageError } from '../../cli/usage-error.js';

function options(overrides: Partial<RequestCliOptions>): RequestCliOptions {
  return { source: 'sentinel2', band: [], index: 'ndvi', ...overrides };
}

function rejects(input: RequestCliOptions, pattern: RegExp): void {
  assert.throws(
    () => requestFromOptions(input),
    (error: unknown) => {
      assert.ok(error instanceof UsageError, `expected a UsageError, got ${String(error)}`);
      assert.match(error.message, pattern);
      return true;
    },
  );
}

/** Parses `args` the way `tessera run` does, without running anything. */
function parse(args: readonly string[]): RequestCliOptions {
  const command = addRequestOptions(new Command('run').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} }));
  command.parse([...args], { from: 'user' });
  return command.opts<RequestCliOptions>();
}

describe('requestFromOptions', () => {
  it('turns NAME=PATH bands into a request row', () => {
    const request = requestFromOptions(options({ band: ['red=/data/B04.tif', 'nir=/data/B08.tif'], index: 'ndvi' }));
    assert.deepEqual(request, {
      source: 'sentinel2',
      bands: { red: '/data/B04.tif', nir: '/data/B08.tif' },
      indices: ['ndvi'],
      reflectanceOffset: null,
      stripRows: null,
    });
  });

  it('passes source, reflectance offset and strip rows through', () => {
    const request = requestFromOptions(
      options({ source: 'sentinel2', band: ['red=/a.tif', 'nir=/b.tif'], reflectanceOffset: -1000, stripRows: 256 }),
    );
    assert.equal(request.reflectanceOffset, -1000);
    assert.equal(request.stripRows, 256);
    assert.equal(request.source, 'sentinel2');
  });

  it('keeps #N band numbers', () => {
    const request = requestFromOptions(options({ band: ['red=/data/scene.tif#3', 'nir=/data/scene.tif#4'] }));
    assert.deepEqual(request.bands, { red: '/data/scene.tif#3', nir: '/data/scene.tif#4' });
  });

  it('makes relative paths absolute (against the working directory), keeping #N', () => {
    const request = requestFromOptions(options({ band: ['red=samples/L7_ETMs.tif#3', 'nir=./B08.tif'] }));
    assert.deepEqual(request.bands, { red: resolve('samples/L7_ETMs.tif#3'), nir: resolve('B08.tif') });
    assert.ok((request.bands['red'] as string).endsWith('/samples/L7_ETMs.tif#3'));
  });

  it('leaves URLs untouched (query string and #N included)', () => {
    const urls = {
      red: 'https://example.com/tiles/B04.tif?sig=abc&se=2030-01-01#1',
      nir: 'http://127.0.0.1:8080/B08.tif',
      green: 'file:///data/B03.tif',
    };
    const request = requestFromOptions(options({ band: Object.entries(urls).map(([name, url]) => `${name}=${url}`) }));
    assert.deepEqual(request.bands, urls);
  });

  it('splits at the first "=", so paths may contain "="', () => {
    const request = requestFromOptions(options({ band: ['red=/data/run=3/B04.tif', 'nir=/B08.tif'] }));
    assert.deepEqual(request.bands, { red: '/data/run=3/B04.tif', nir: '/B08.tif' });
  });

  it('lower-cases and trims band names and trims paths', () => {
    const request = requestFromOptions(options({ band: [' RED = /data/B04.tif ', 'nir=/B08.tif'] }));
    assert.deepEqual(request.bands, { red: '/data/B04.tif', nir: '/B08.tif' });
  });

  it('splits --index on commas, dropping blanks', () => {
    const band = ['red=/r.tif', 'nir=/n.tif', 'green=/g.tif', 'swir16=/s.tif'];
    assert.deepEqual(requestFromOptions(options({ band, index: 'ndvi,ndsi' })).indices, ['ndvi', 'ndsi']);
    assert.deepEqual(requestFromOptions(options({ band, index: ' ndvi , ndsi ,' })).indices, ['ndvi', 'ndsi']);
    assert.deepEqual(requestFromOptions(options({ band, index: 'ndsi' })).indices, ['ndsi']);
  });

  it('refuses what the master would refuse, in the words its row would get (the request rules)', () => {
    rejects(options({ band: ['red=/a.tif'] }), /^ndvi needs band "nir", which the request does not give; add it to bands$/);
    rejects(options({ band: ['red=/a.tif#x', 'nir=/b.tif'] }), /"#x" is not a band number/);
    rejects(options({ band: ['red=/a.tif', 'nir=/b.tif'], reflectanceOffset: 1e9 }), /reflectance_offset = 1000000000 is not a plausible offset/);
  });

  it('an empty band list asks for at least one --band, with an example', () => {
    rejects(options({ band: [] }), /give at least one --band NAME=PATH, e\.g\. --band red=B04\.tif/);
  });

  for (const spec of ['red', 'B04.tif', '=B04.tif', 'red=', 'red=  ', ' =B04.tif']) {
    it(`--band ${JSON.stringify(spec)} (no NAME=PATH) says what is expected`, () => {
      // A blank name or path must not slip through (a blank path would otherwise resolve to the working directory).
      rejects(options({ band: [spec] }), /: expected NAME=PATH, e\.g\. red=B04\.tif or nir=scene\.tif#4/);
      assert.throws(() => requestFromOptions(options({ band: [spec] })), (error: Error) => error.message.includes(`--band ${spec}:`));
    });
  }

  it('a band given twice is an error naming the band (also when only the case differs)', () => {
    rejects(options({ band: ['red=/a.tif', 'red=/b.tif'] }), /--band red is given twice/);
    rejects(options({ band: ['red=/a.tif', 'RED=/b.tif'] }), /--band red is given twice/);
  });
});

describe('addRequestOptions (as `tessera run` parses them)', () => {
  it('collects repeated --band, splits --index, reads a negative --reflectance-offset', () => {
    const parsed = parse([
      '--band', 'red=/s.tif#3',
      '--band', 'nir=/s.tif#4',
      '--band', 'green=/s.tif#2',
      '--band', 'swir16=/s.tif#5',
      '--index', 'ndvi,ndsi',
      '--reflectance-offset', '-1000',
      '--strip-rows', '256',
    ]);
    const request = requestFromOptions(parsed);
    assert.deepEqual(request, {
      source: 'sentinel2',
      bands: { red: '/s.tif#3', nir: '/s.tif#4', green: '/s.tif#2', swir16: '/s.tif#5' },
      indices: ['ndvi', 'ndsi'],
      reflectanceOffset: -1000,
      stripRows: 256,
    });
  });

  it('defaults to --source sentinel2 and --index ndvi', () => {
    const parsed = parse(['--band', 'red=/a.tif']);
    assert.equal(parsed.source, 'sentinel2');
    assert.equal(parsed.index, 'ndvi');
    assert.equal(parsed.stripRows, undefined);
  });

  for (const [args, pattern] of [
    [['--strip-rows', '0'], /--strip-rows: strip_rows must be a whole number of rows from 1 to 65536, got 0/],
    [['--strip-rows', '12.5'], /--strip-rows: strip_rows must be a whole number of rows from 1 to 65536, got 12\.5/],
    [['--strip-rows', '70000'], /--strip-rows: strip_rows must be a whole number of rows from 1 to 65536, got 70000/],
    [['--strip-rows', 'big'], /--strip-rows must be a number/],
    [['--reflectance-offset', 'abc'], /--reflectance-offset must be a number/],
  ] as const) {
    it(`rejects ${args.join(' ')}`, () => {
      assert.throws(() => parse([...args]), pattern);
    });
  }
});

describe('requestFromOptions: --source earthdaily', () => {
  const corners = { ul: parseLatLng('--ul')('-33.90,18.40'), lr: parseLatLng('--lr')('-33.95,18.47') };

  it('builds a box request; negative coordinates pass through the = form', () => {
    const request = requestFromOptions({
      source: 'earthdaily',
      band: ['swir16=5'],
      index: 'ndvi,ndsi',
      url: 'https://m.example/mosaic.tif?sig=x',
      resolution: 10,
      ...corners,
    });
    assert.deepEqual(request, {
      source: 'earthdaily',
      bands: { swir16: '5' },
      indices: ['ndvi', 'ndsi'],
      url: 'https://m.example/mosaic.tif?sig=x',
      ulLat: -33.9,
      ulLng: 18.4,
      lrLat: -33.95,
      lrLng: 18.47,
      resolution: 10,
      reflectanceOffset: null,
      stripRows: null,
    });
  });

  it('asks for the corners and the resolution; the URL may come from the master', () => {
    assert.throws(() => requestFromOptions({ source: 'earthdaily', band: [], index: 'ndvi', resolution: 10 }), /--ul=LAT,LNG --lr=LAT,LNG/);
    assert.throws(() => requestFromOptions({ source: 'earthdaily', band: [], index: 'ndvi', ...corners }), /--resolution/);
    assert.equal(requestFromOptions({ source: 'earthdaily', band: [], index: 'ndvi', resolution: 10, ...corners }).url, null);
  });

  it('parseLatLng rejects anything but two numbers', () => {
    for (const bad of ['46.5', '46.5,6.5,1', 'a,b', '']) assert.throws(() => parseLatLng('--ul')(bad), /--ul must be LAT,LNG/);
  });
});

describe('the command line itself', () => {
  it('takes --ul=LAT,LNG with negative numbers', () => {
    const command = addRequestOptions(new Command().exitOverride());
    command.parse(['--source', 'earthdaily', '--ul=-33.9,18.4', '--lr=-34,18.5', '--resolution', '10'], { from: 'user' });
    const options = command.opts<RequestCliOptions>();
    assert.deepEqual(options.ul, { lat: -33.9, lng: 18.4 });
    assert.deepEqual(options.lr, { lat: -34, lng: 18.5 });
    assert.equal(options.resolution, 10);
  });
});

describe('requestFromOptions: names are checked before anything is inserted', () => {
  it('rejects an unknown index or band name at once', () => {
    assert.throws(() => requestFromOptions({ source: 'sentinel2', band: ['red=a.tif', 'nir=b.tif'], index: 'ndvi,gndvi' }), /unknown index "gndvi"; tessera computes ndvi, ndsi/);
    assert.throws(() => requestFromOptions({ source: 'sentinel2', band: ['B04=a.tif'], index: 'ndvi' }), /unknown band "b04"; use the STAC common names red, nir, green, swir16/);
    assert.throws(() => requestFromOptions({ source: 'sentinel2', band: ['red=a.tif'], index: ' , ' }), /--index needs one or more of ndvi, ndsi/);
  });

  it('earthdaily band overrides may also name blue and swir22', () => {
    const corners = { ul: { lat: 1, lng: 1 }, lr: { lat: 0, lng: 2 }, resolution: 10 };
    assert.deepEqual(requestFromOptions({ source: 'earthdaily', band: ['swir22=6'], index: 'ndvi', ...corners }).bands, { swir22: '6' });
    assert.throws(() => requestFromOptions({ source: 'earthdaily', band: ['thermal=7'], index: 'ndvi', ...corners }), /unknown band "thermal"/);
  });
});

describe('--expression and --range', () => {
  it('--expression alone computes only the expression; --index still adds built-ins, before or after it', () => {
    assert.equal(parse(['--expression', 'nir - red']).index, undefined);
    assert.equal(parse(['--index', 'ndsi', '--expression', 'nir - red']).index, 'ndsi');
    assert.equal(parse(['--expression', 'nir - red', '--index', 'ndsi']).index, 'ndsi');
    const request = requestFromOptions(options({ band: ['red=/a.tif', 'nir=/b.tif'], index: undefined, expression: '(nir - red) / 2', range: [-0.5, 0.5] }));
    assert.deepEqual([request.indices, request.expression, request.range], [[], '(nir - red) / 2', [-0.5, 0.5]]);
  });

  it('reads --range=LO,HI and refuses what is not two numbers', () => {
    assert.deepEqual(parse(['--expression', 'nir', '--range=-0.5,2']).range, [-0.5, 2]);
    for (const bad of ['1', '1,2,3', 'a,1', ',1']) assert.throws(() => parse(['--expression', 'nir', `--range=${bad}`]), /--range must be LO,HI/);
  });

  it('refuses a bad expression or range in the master\'s words, before anything is inserted', () => {
    const bands = ['red=/a.tif', 'nir=/b.tif'];
    rejects(options({ band: bands, expression: 'constructor' }), /^the expression has "constructor", which is not a band/);
    rejects(options({ band: bands, expression: 'process.exit(1)' }), /^the expression has "\." at column 8/);
    rejects(options({ band: bands, expression: 'nir - swir16' }), /^the expression needs band "swir16", which the request does not give; add it to bands$/);
    rejects(options({ band: bands, expression: 'nir', range: [2, 1] }), /^range \[2, 1\] must have lo < hi/);
    rejects(options({ band: bands, range: [0, 1] }), /^range is the value range of a custom expression/);
  });
});

describe('--mask-classes and --no-mask', () => {
  const bands = ['red=/a.tif', 'nir=/b.tif', 'scl=/scl.tif'];

  it('--mask-classes names the classes, --no-mask turns masking off, neither leaves it to the default', () => {
    assert.deepEqual(parse(['--mask-classes', '3,8,9']).maskClasses, [3, 8, 9]);
    assert.equal(parse(['--no-mask']).mask, false);
    assert.deepEqual(requestFromOptions(options({ band: bands, maskClasses: [9, 3] })).maskClasses, [9, 3]);
    assert.deepEqual(requestFromOptions(options({ band: bands, mask: false })).maskClasses, []);
    assert.equal('maskClasses' in requestFromOptions(options({ band: bands })), false);
    assert.throws(() => parse(['--mask-classes', '3,,9']), /--mask-classes must be SCL class numbers/);
  });

  it('refuses classes that are none, both flags at once, and classes without an scl band', () => {
    rejects(options({ band: bands, maskClasses: [12] }), /^mask_classes must be Sentinel-2 SCL class numbers from 0 to 11/);
    rejects(options({ band: bands, maskClasses: [3], mask: false }), /--no-mask and --mask-classes contradict each other/);
    rejects(options({ band: ['red=/a.tif', 'nir=/b.tif'], maskClasses: [3] }), /^mask_classes \{3\} needs the scl band/);
  });
});
