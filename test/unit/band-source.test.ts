import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fromFile } from 'geotiff';
import { InvalidRequestError, SourceReadError } from '../../shared/errors.js';
import { closeTiff, openBandSource, parseBandReference, type BandSource } from '../../master/source/band-source.js';
import { writeGeoTiff, type GeoTiffWriterOptions } from '../support/tiff-writer.js';

const SAMPLE = 'samples/L7_ETMs.tif';
const dir = mkdtempSync(join(tmpdir(), 'tessera-band-source-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function fixture(name: string, options: Partial<GeoTiffWriterOptions> = {}): string {
  const path = join(dir, name);
  const width = 40;
  const height = 30;
  writeFileSync(
    path,
    writeGeoTiff({
      width,
      height,
      sampleType: 'uint16',
      samples: [Array.from({ length: width * height }, (_, i) => i)],
      crs: { epsg: 32632 },
      origin: { x: 600000, y: 5000000 },
      pixelSize: 10,
      ...options,
    }),
  );
  return path;
}

async function withBand<T>(text: string, use: (band: BandSource) => T | Promise<T>, name?: string): Promise<T> {
  const band = await openBandSource(parseBandReference(text), { name });
  try {
    return await use(band);
  } finally {
    await closeTiff(band.file);
  }
}

describe('parseBandReference', () => {
  it('defaults to band 1', () => {
    assert.deepEqual(parseBandReference('data/B04.tif'), { uri: 'data/B04.tif', band: 1 });
    assert.deepEqual(parseBandReference('https://example.com/a/B04.tif'), { uri: 'https://example.com/a/B04.tif', band: 1 });
  });
  it('reads #N as a 1-based band number, splitting at the last #', () => {
    assert.deepEqual(parseBandReference('samples/L7_ETMs.tif#4'), { uri: 'samples/L7_ETMs.tif', band: 4 });
    assert.deepEqual(parseBandReference('https://example.com/x.tif?sig=a#b#12'), { uri: 'https://example.com/x.tif?sig=a#b', band: 12 });
  });
  for (const bad of ['a.tif#', 'a.tif#0', 'a.tif#-1', 'a.tif#1.5', 'a.tif#x', 'a.tif#2a', 'a.tif# 3', '#2', '', '   ']) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(() => parseBandReference(bad), InvalidRequestError);
    });
  }
  it('says what is wrong', () => {
    assert.throws(() => parseBandReference('a.tif#red'), /"#red" is not a band number/);
  });
});

describe('openBandSource', () => {
  it('describes the Landsat sample like geotiff does', async () => {
    const tiff = await fromFile(SAMPLE);
    const image = await tiff.getImage(0);
    const [originX, originY] = image.getOrigin();
    const [resX, resY] = image.getResolution();
    await tiff.close();
    await withBand(`${SAMPLE}#4`, (band) => {
      assert.equal(band.width, 349);
      assert.equal(band.height, 352);
      assert.equal(band.sample, 3);
      assert.equal(band.samplesPerPixel, 6);
      assert.equal(band.epsg, 31985);
      assert.equal(band.nodata, null);
      assert.equal(band.sampleType, 'uint8');
      assert.deepEqual(band.transform, { originX, originY, pixelWidth: resX, pixelHeight: -resY! });
      assert.deepEqual(band.layout, { tiled: false, blockWidth: 349, blockHeight: 3 });
      assert.equal(band.compression, 8);
      assert.equal(band.predictor, 1);
      assert.equal(band.planarConfiguration, 1);
      assert.equal(band.littleEndian, true);
      assert.deepEqual(band.bitsPerSample, [8, 8, 8, 8, 8, 8]);
    });
  });

  it('reads tiling, nodata, sample types and geographic CRSs from generated files', async () => {
    const tiled = fixture('tiled.tif', { tileSize: { width: 32, height: 16 }, compression: 8, predictor: 2, nodata: 0, planarConfiguration: 2 });
    await withBand(tiled, (band) => {
      assert.deepEqual(band.layout, { tiled: true, blockWidth: 32, blockHeight: 16 });
      assert.equal(band.nodata, 0);
      assert.equal(band.predictor, 2);
      assert.equal(band.planarConfiguration, 2);
      assert.deepEqual(band.transform, { originX: 600000, originY: 5000000, pixelWidth: 10, pixelHeight: 10 });
    });
    const geographic = fixture('geo.tif', {
      crs: { epsg: 4326, geographic: true },
      origin: { x: 7.5, y: 46.25 },
      pixelSize: { x: 0.0005, y: 0.00025 },
      sampleType: 'float32',
      samples: [new Float32Array(1200)],
      nodata: -9999,
    });
    await withBand(geographic, (band) => {
      assert.equal(band.epsg, 4326);
      assert.equal(band.sampleType, 'float32');
      assert.equal(band.nodata, -9999);
      assert.deepEqual(band.transform, { originX: 7.5, originY: 46.25, pixelWidth: 0.0005, pixelHeight: 0.00025 });
    });
    const int16 = fixture('int16.tif', { sampleType: 'int16' });
    await withBand(int16, (band) => assert.equal(band.sampleType, 'int16'));
  });

  it('shifts a PixelIsPoint origin by half a pixel, as GDAL does', async () => {
    const path = fixture('point.tif', { rasterType: 'point' });
    await withBand(path, (band) => assert.deepEqual(band.transform, { originX: 599995, originY: 5000005, pixelWidth: 10, pixelHeight: 10 }));
  });

  it('accepts a north-up ModelTransformation', async () => {
    const path = fixture('matrix.tif', { modelTransformation: [20, 0, 0, 1000, 0, -20, 0, 9000, 0, 0, 0, 0, 0, 0, 0, 1] });
    await withBand(path, (band) => assert.deepEqual(band.transform, { originX: 1000, originY: 9000, pixelWidth: 20, pixelHeight: 20 }));
  });

  it('fails clearly for a missing file', async () => {
    const missing = join(dir, 'nope.tif');
    await assert.rejects(openBandSource(parseBandReference(`${missing}#2`), { name: 'red' }), (error: unknown) => {
      assert.ok(error instanceof SourceReadError);
      assert.match(error.message, /red/);
      assert.ok(error.message.includes(missing));
      assert.match(error.message, /ENOENT|no such file/);
      return true;
    });
  });

  it('fails clearly for band 9 of the 6-band sample', async () => {
    await assert.rejects(openBandSource(parseBandReference(`${SAMPLE}#9`), { name: 'swir16' }), (error: unknown) => {
      assert.ok(error instanceof InvalidRequestError);
      assert.match(error.message, /swir16/);
      assert.ok(error.message.includes(SAMPLE));
      assert.match(error.message, /6 bands/);
      assert.match(error.message, /no band 9/);
      return true;
    });
  });

  it('fails clearly for a file that is not a TIFF', async () => {
    const path = join(dir, 'not-a-tiff.tif');
    writeFileSync(path, 'this is plain text, not an image\n');
    await assert.rejects(openBandSource(parseBandReference(path), { name: 'nir' }), (error: unknown) => {
      assert.ok(error instanceof SourceReadError);
      assert.match(error.message, /nir/);
      assert.ok(error.message.includes(path));
      assert.match(error.message, /not a TIFF/);
      return true;
    });
    const empty = join(dir, 'empty.tif');
    writeFileSync(empty, '');
    await assert.rejects(openBandSource(parseBandReference(empty)), SourceReadError);
  });

  it('rejects rotated geotransforms', async () => {
    const path = fixture('rotated.tif', { modelTransformation: [10, 2, 0, 1000, 1, -10, 0, 2000, 0, 0, 0, 0, 0, 0, 0, 1] });
    await assert.rejects(openBandSource(parseBandReference(path)), /rotated or skewed/);
  });

  it('rejects user-defined and missing CRS codes', async () => {
    const userDefined = fixture('user.tif', { crs: { epsg: 32767 } });
    await assert.rejects(openBandSource(parseBandReference(userDefined), { name: 'red' }), (error: unknown) => {
      assert.ok(error instanceof InvalidRequestError);
      assert.match(error.message, /user-defined/);
      assert.match(error.message, /red/);
      return true;
    });
    const noKeys = fixture('nokeys.tif', { crs: null });
    await assert.rejects(openBandSource(parseBandReference(noKeys)), (error: unknown) => {
      assert.ok(error instanceof InvalidRequestError);
      assert.match(error.message, /no GeoKeys/);
      return true;
    });
  });

  it('rejects unsupported schemes', async () => {
    await assert.rejects(openBandSource(parseBandReference('s3://bucket/a.tif')), (error: unknown) => {
      assert.ok(error instanceof InvalidRequestError);
      assert.match(error.message, /http\(s\)/);
      return true;
    });
  });
});
