import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fromArrayBuffer, type GeoTIFFImage } from 'geotiff';
import type { SampleType } from '../../shared/types.js';
import { writeGeoTiff, type GeoTiffWriterOptions } from '../support/tiff-writer.js';

const W = 45;
const H = 38;

/** Deterministic values spanning the type's range (negative ones for signed types, fractions for floats). */
function values(type: SampleType, seed: number): number[] {
  return Array.from({ length: W * H }, (_, i) => {
    const k = (i * 2654435761 + seed * 40503) >>> 0;
    switch (type) {
      case 'uint8':
        return k % 256;
      case 'int8':
        return (k % 256) - 128;
      case 'uint16':
        return k % 65536;
      case 'int16':
        return (k % 65536) - 32768;
      case 'uint32':
        return k;
      case 'int32':
        return k | 0;
      case 'float32':
        return Math.fround(((k % 200001) - 100000) / 7.3);
      case 'float64':
        return ((k % 2000001) - 1000000) / 7.3;
    }
  });
}

async function open(buffer: Buffer): Promise<GeoTIFFImage> {
  const copy = new Uint8Array(buffer).buffer;
  return (await fromArrayBuffer(copy)).getImage(0);
}

async function assertRoundTrip(options: GeoTiffWriterOptions): Promise<GeoTIFFImage> {
  const image = await open(writeGeoTiff(options));
  assert.equal(image.getWidth(), options.width);
  assert.equal(image.getHeight(), options.height);
  assert.equal(image.getSamplesPerPixel(), options.samples.length);
  const rasters = await image.readRasters({ interleave: false });
  options.samples.forEach((expected, s) => {
    assert.deepEqual(Array.from(rasters[s]!), Array.from(expected), `sample ${s} values`);
  });
  return image;
}

const base = {
  width: W,
  height: H,
  crs: { epsg: 32633 },
  origin: { x: 499980, y: 5300040 },
  pixelSize: 10,
} as const;

describe('writeGeoTiff', () => {
  const cases: Array<{ type: SampleType; planar: 1 | 2; tiled: boolean; compression: 1 | 8; predictor: 1 | 2 | 3 }> = [];
  for (const type of ['uint8', 'uint16', 'int16', 'float32'] as const) {
    for (const planar of [1, 2] as const) {
      for (const tiled of [false, true]) {
        cases.push({ type, planar, tiled, compression: 1, predictor: 1 });
        cases.push({ type, planar, tiled, compression: 8, predictor: type === 'float32' ? 3 : 2 });
        cases.push({ type, planar, tiled, compression: 8, predictor: 1 });
      }
    }
  }
  for (const c of cases) {
    it(`round-trips ${c.type}, planar ${c.planar}, ${c.tiled ? 'tiled' : 'striped'}, compression ${c.compression}, predictor ${c.predictor}`, async () => {
      const samples = [values(c.type, 1), values(c.type, 2), values(c.type, 3)];
      const image = await assertRoundTrip({
        ...base,
        sampleType: c.type,
        samples,
        planarConfiguration: c.planar,
        tileSize: c.tiled ? 16 : undefined,
        rowsPerStrip: 7,
        compression: c.compression,
        predictor: c.predictor,
      });
      const directory = image.getFileDirectory();
      assert.equal(image.isTiled, c.tiled);
      assert.equal(image.planarConfiguration, c.planar);
      assert.equal(directory.getValue('Compression'), c.compression);
      assert.equal((await directory.loadValue('Predictor')) ?? 1, c.predictor);
      assert.equal(image.getTileWidth(), c.tiled ? 16 : W);
      assert.equal(image.getTileHeight(), c.tiled ? 16 : 7);
    });
  }

  it('round-trips the other sample types (int8, uint32, int32, float64)', async () => {
    for (const type of ['int8', 'uint32', 'int32', 'float64'] as const) {
      await assertRoundTrip({ ...base, sampleType: type, samples: [values(type, 5)], tileSize: 32, compression: 8 });
    }
  });

  it('writes rectangular tiles', async () => {
    const image = await assertRoundTrip({ ...base, sampleType: 'uint16', samples: [values('uint16', 9)], tileSize: { width: 32, height: 16 }, compression: 8, predictor: 2 });
    assert.equal(image.getTileWidth(), 32);
    assert.equal(image.getTileHeight(), 16);
  });

  it('writes projected GeoKeys, the geotransform and GDAL_NODATA', async () => {
    const image = await open(writeGeoTiff({ ...base, sampleType: 'uint16', samples: [values('uint16', 1)], nodata: 0 }));
    const keys = image.getGeoKeys();
    assert.equal(keys?.ProjectedCSTypeGeoKey, 32633);
    assert.equal(keys?.GTModelTypeGeoKey, 1);
    assert.equal(keys?.GTRasterTypeGeoKey, 1);
    assert.deepEqual(image.getOrigin().slice(0, 2), [499980, 5300040]);
    assert.deepEqual(image.getResolution().slice(0, 2), [10, -10]);
    assert.equal(image.getGDALNoData(), 0);
  });

  it('writes geographic GeoKeys, negative and NaN nodata', async () => {
    const geographic = await open(
      writeGeoTiff({ ...base, crs: { epsg: 4326, geographic: true }, origin: { x: 10.5, y: 45.25 }, pixelSize: { x: 0.001, y: 0.002 }, sampleType: 'float32', samples: [values('float32', 1)], nodata: -9999 }),
    );
    assert.equal(geographic.getGeoKeys()?.GeographicTypeGeoKey, 4326);
    assert.equal(geographic.getGeoKeys()?.GTModelTypeGeoKey, 2);
    assert.equal(geographic.getGeoKeys()?.ProjectedCSTypeGeoKey, undefined);
    assert.deepEqual(geographic.getResolution().slice(0, 2), [0.001, -0.002]);
    assert.equal(geographic.getGDALNoData(), -9999);
    const nan = await open(writeGeoTiff({ ...base, sampleType: 'float32', samples: [values('float32', 1)], nodata: Number.NaN }));
    assert.ok(Number.isNaN(nan.getGDALNoData()));
    const none = await open(writeGeoTiff({ ...base, sampleType: 'uint8', samples: [values('uint8', 1)] }));
    assert.equal(none.getGDALNoData(), null);
  });

  it('writes sparse blocks with offset and byte count 0', async () => {
    const image = await open(
      writeGeoTiff({ ...base, sampleType: 'uint16', samples: [values('uint16', 1)], tileSize: 16, compression: 8, nodata: 0, sparse: (b) => b.column === 1 && b.row === 0 }),
    );
    const across = Math.ceil(W / 16);
    assert.equal(Number(await image.getFileDirectory().loadValueIndexed('TileByteCounts', 1)), 0);
    assert.equal(Number(await image.getFileDirectory().loadValueIndexed('TileOffsets', 1)), 0);
    assert.ok(Number(await image.getFileDirectory().loadValueIndexed('TileByteCounts', across)) > 0);
    const [raster] = await image.readRasters({ window: [16, 0, 32, 16], interleave: false });
    assert.ok(Array.from(raster!).every((v) => v === 0));
  });

  it('writes a ModelTransformation and PixelIsPoint when asked', async () => {
    const image = await open(
      writeGeoTiff({ ...base, sampleType: 'uint8', samples: [values('uint8', 1)], rasterType: 'point', modelTransformation: [10, 2, 0, 1000, 1, -10, 0, 2000, 0, 0, 0, 0, 0, 0, 0, 1] }),
    );
    assert.deepEqual(Array.from(image.getFileDirectory().getValue('ModelTransformation') as ArrayLike<number>), [10, 2, 0, 1000, 1, -10, 0, 2000, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert.equal(image.getFileDirectory().hasTag('ModelTiepoint'), false);
    assert.equal(image.getGeoKeys()?.GTRasterTypeGeoKey, 2);
  });

  describe('cross-check with gdalinfo', () => {
    const gdal = spawnSync('gdalinfo', ['--version'], { encoding: 'utf8' });
    const available = gdal.status === 0;
    const dir = mkdtempSync(join(tmpdir(), 'tessera-writer-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    it('gdalinfo reads size, CRS, tiling, compression and nodata', { skip: available ? false : 'gdalinfo is not installed on this machine' }, () => {
      const path = join(dir, 'check.tif');
      writeFileSync(path, writeGeoTiff({ ...base, sampleType: 'uint16', samples: [values('uint16', 1), values('uint16', 2)], tileSize: 16, compression: 8, predictor: 2, nodata: 0 }));
      const info = JSON.parse(execFileSync('gdalinfo', ['-json', '-checksum', path], { encoding: 'utf8' })) as {
        size: number[];
        geoTransform: number[];
        coordinateSystem?: { wkt: string };
        metadata?: Record<string, Record<string, string>>;
        bands: Array<{ block: number[]; noDataValue?: number; type: string }>;
      };
      assert.deepEqual(info.size, [W, H]);
      assert.deepEqual(info.geoTransform, [499980, 10, 0, 5300040, 0, -10]);
      assert.match(info.coordinateSystem?.wkt ?? '', /32633/);
      assert.equal(info.metadata?.['IMAGE_STRUCTURE']?.['COMPRESSION'], 'DEFLATE');
      assert.equal(info.bands.length, 2);
      for (const band of info.bands) {
        assert.deepEqual(band.block, [16, 16]);
        assert.equal(band.noDataValue, 0);
        assert.equal(band.type, 'UInt16');
      }
    });

    const layouts: Array<{ type: SampleType; planar: 1 | 2; tiled: boolean; predictor: 1 | 2 | 3 }> = [
      { type: 'uint16', planar: 1, tiled: true, predictor: 2 },
      { type: 'int16', planar: 2, tiled: true, predictor: 2 },
      { type: 'uint8', planar: 1, tiled: false, predictor: 2 },
      { type: 'float32', planar: 1, tiled: true, predictor: 3 },
      { type: 'float32', planar: 2, tiled: false, predictor: 3 },
    ];
    for (const layout of layouts) {
      it(`GDAL decodes the same pixels: ${layout.type}, planar ${layout.planar}, ${layout.tiled ? 'tiled' : 'striped'}, predictor ${layout.predictor}`, { skip: available ? false : 'gdalinfo is not installed on this machine' }, () => {
        const samples = [values(layout.type, 11), values(layout.type, 12)];
        const path = join(dir, `pixels-${layout.type}-${layout.planar}-${layout.tiled}.tif`);
        const raw = join(dir, `pixels-${layout.type}-${layout.planar}-${layout.tiled}.bin`);
        writeFileSync(path, writeGeoTiff({ ...base, sampleType: layout.type, samples, planarConfiguration: layout.planar, tileSize: layout.tiled ? 16 : undefined, rowsPerStrip: 5, compression: 8, predictor: layout.predictor }));
        // ENVI with BSQ interleave: each band's values, row-major, native (little-endian) byte order.
        const run = spawnSync('gdal_translate', ['-q', '-of', 'ENVI', '-co', 'INTERLEAVE=BSQ', path, raw], { encoding: 'utf8' });
        assert.equal(run.status, 0, run.stderr);
        assert.equal(run.stderr.trim(), '', 'GDAL printed warnings');
        const bytes = readFileSync(raw);
        const decoded = layout.type === 'float32' ? new Float32Array(new Uint8Array(bytes).buffer) : layout.type === 'uint8' ? new Uint8Array(bytes) : layout.type === 'int16' ? new Int16Array(new Uint8Array(bytes).buffer) : new Uint16Array(new Uint8Array(bytes).buffer);
        assert.deepEqual(Array.from(decoded), [...samples[0]!, ...samples[1]!]);
      });
    }
  });
});
