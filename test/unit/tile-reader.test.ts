import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fromFile } from 'geotiff';
import { ChecksumMismatchError } from '../../shared/errors.js';
import type { TileTask__Output } from '../../shared/proto/tile-service.js';
import { decodeSourceWindow } from '../../shared/raster/source-decoder.js';
import type { BandInput, BandName, SampleType } from '../../shared/types.js';
import { openBandSet, referenceBlockFor, type BandSet, type OutputGrid } from '../../master/source/band-set.js';
import { planTiles, type PlannedTile } from '../../master/source/tile-plan.js';
import { readTile, type TilePayload } from '../../master/source/tile-reader.js';
import { writeGeoTiff, type GeoTiffWriterOptions } from '../support/tiff-writer.js';
import { overTheWire } from '../support/over-the-wire.js';

const SAMPLE = 'samples/L7_ETMs.tif';
const dir = mkdtempSync(join(tmpdir(), 'tessera-tile-reader-'));
after(() => rmSync(dir, { recursive: true, force: true }));


/**
 * The independent expectation: a band's full raster read by geotiff, and the nearest source pixel
 * of a map position computed from geotiff's own origin/resolution (the pixel that contains it).
 */
interface Truth {
  readonly values: ArrayLike<number>;
  readonly width: number;
  readonly height: number;
  at(x: number, y: number): number | undefined;
}

async function truthFor(path: string, sample: number): Promise<Truth> {
  const tiff = await fromFile(path);
  try {
    const image = await tiff.getImage(0);
    const [ox, oy] = image.getOrigin() as [number, number];
    const [rx, ry] = image.getResolution() as [number, number];
    const [values] = await image.readRasters({ samples: [sample], interleave: false });
    const width = image.getWidth();
    const height = image.getHeight();
    return {
      values: values!,
      width,
      height,
      at(x, y) {
        const c = Math.floor((x - ox) / rx);
        const r = Math.floor((y - oy) / ry);
        return c >= 0 && c < width && r >= 0 && r < height ? values![r * width + c]! : undefined;
      },
    };
  } finally {
    await tiff.close();
  }
}

interface Checked {
  readonly payloads: Array<{ tile: PlannedTile; payload: TilePayload; task: TileTask__Output }>;
  /** Output pixels compared with a source value / found outside the band (over all bands). */
  readonly compared: number;
  readonly outside: number;
}

/**
 * For every tile: readTile → protobuf → decodeSourceWindow, then every output pixel of every band
 * looked up through columns/rows must equal the independent nearest-neighbour value.
 */
async function checkAllTiles(set: Pick<BandSet, 'grid' | 'bands'>, inputs: readonly BandInput[], tiles: readonly PlannedTile[], grid: OutputGrid = set.grid): Promise<Checked> {
  const truths = new Map<BandName, Truth>();
  for (const input of inputs) truths.set(input.name, await truthFor(input.uri, input.band - 1));
  const payloads: Checked['payloads'] = [];
  let compared = 0;
  let outside = 0;
  for (const tile of tiles) {
    const payload = await readTile(set, tile);
    const task = overTheWire(payload, tile);
    const decoded = await Promise.all(task.sources.map((source) => decodeSourceWindow(source)));
    assert.equal(task.bands.length, inputs.length);
    for (const band of task.bands) {
      const truth = truths.get(band.name as BandName)!;
      const source = task.sources[band.source]!;
      const values = decoded[band.source]!.get(band.sample);
      assert.ok(values, `${band.name}: sample ${band.sample} decoded`);
      assert.equal(values.length, source.width * source.height);
      assert.equal(band.columns.length, tile.width);
      assert.equal(band.rows.length, tile.height);
      const input = inputs.find((i) => i.name === band.name)!;
      assert.equal(band.sample, input.band - 1);
      for (let j = 0; j < tile.height; j++) {
        const y = grid.originY - (tile.top + j + 0.5) * grid.pixelHeight;
        for (let i = 0; i < tile.width; i++) {
          const x = grid.originX + (tile.left + i + 0.5) * grid.pixelWidth;
          const expected = truth.at(x, y);
          const c = band.columns[i]!;
          const r = band.rows[j]!;
          if (expected === undefined) {
            assert.ok(c < 0 || r < 0, `${band.name} tile ${tile.index} (${i}, ${j}) should be outside the band`);
            outside++;
            continue;
          }
          assert.ok(c >= 0 && r >= 0 && c < source.width && r < source.height, `${band.name} tile ${tile.index} (${i}, ${j}) index in window`);
          const actual: number | undefined = values[r * source.width + c];
          if (actual !== expected) {
            assert.fail(`${band.name} tile ${tile.index} pixel (${i}, ${j}): got ${actual}, expected ${expected}`);
          }
          compared++;
        }
      }
    }
    payloads.push({ tile, payload, task });
  }
  assert.ok(compared > 0);
  return { payloads, compared, outside };
}

function pattern(type: SampleType, width: number, height: number, seed: number): number[] {
  return Array.from({ length: width * height }, (_, i) => {
    const k = (Math.imul(i + 1, 2654435761) ^ Math.imul(seed, 40503)) >>> 0;
    if (k % 23 === 0) return 0; // some nodata-like pixels
    switch (type) {
      case 'uint16':
        return k % 65536;
      case 'int16':
        return (k % 65536) - 32768;
      case 'float32':
        return Math.fround(((k % 20001) - 10000) / 3.7);
      default:
        return k % 256;
    }
  });
}

function writeFixture(name: string, options: Omit<GeoTiffWriterOptions, 'samples'> & { count?: number; seed?: number }): string {
  const path = join(dir, name);
  const count = options.count ?? 1;
  const samples = Array.from({ length: count }, (_, s) => pattern(options.sampleType, options.width, options.height, (options.seed ?? 1) * 10 + s));
  writeFileSync(path, writeGeoTiff({ ...options, samples }));
  return path;
}

function tilesFor(set: BandSet, size: number): PlannedTile[] {
  return planTiles(set.grid, size, referenceBlockFor(set));
}

async function withSet<T>(inputs: readonly BandInput[], use: (set: BandSet) => Promise<T>): Promise<T> {
  const set = await openBandSet(inputs);
  try {
    return await use(set);
  } finally {
    await set.close();
  }
}

describe('readTile → decodeSourceWindow', () => {
  it('(a) striped Landsat sample: decoded path, one shared source for 4 bands', async () => {
    const inputs: BandInput[] = [
      { name: 'red', uri: SAMPLE, band: 3 },
      { name: 'nir', uri: SAMPLE, band: 4 },
      { name: 'green', uri: SAMPLE, band: 2 },
      { name: 'swir16', uri: SAMPLE, band: 5 },
    ];
    await withSet(inputs, async (set) => {
      const tiles = tilesFor(set, 100);
      assert.equal(tiles.length, 16);
      const { payloads } = await checkAllTiles(set, inputs, tiles);
      for (const { task } of payloads) {
        assert.equal(task.sources.length, 1);
        const [source] = task.sources;
        assert.equal(source!.data, 'decoded');
        assert.equal(source!.sampleType, 'uint8');
        assert.deepEqual(source!.decoded!.samples, [1, 2, 3, 4]);
        assert.ok(task.bands.every((b) => b.source === 0 && !b.hasNodata));
      }
      // geotiff keeps no decoded-block cache (memory stays flat across tiles).
      assert.equal(set.reference.source.file.image.tiles, null);
    });
  });

  describe('(b) Sentinel-2-like tiled DEFLATE + predictor 2 uint16: 10 m bands and a 20 m swir16', () => {
    const tenMetre = (name: string, seed: number, sparse?: GeoTiffWriterOptions['sparse']): string =>
      writeFixture(name, { width: 333, height: 277, sampleType: 'uint16', crs: { epsg: 32632 }, origin: { x: 399960, y: 5000040 }, pixelSize: 10, tileSize: 128, compression: 8, predictor: 2, nodata: 0, seed, sparse });
    const red = tenMetre('B04.tif', 1);
    const nir = tenMetre('B08.tif', 2, (b) => b.column === 1 && b.row === 1);
    const green = tenMetre('B03.tif', 3);
    const swirAligned = writeFixture('B11.tif', { width: 167, height: 139, sampleType: 'uint16', crs: { epsg: 32632 }, origin: { x: 399960, y: 5000040 }, pixelSize: 20, tileSize: 64, compression: 8, predictor: 2, nodata: 0, seed: 4 });
    // A 20 m band starting 30 m east and 50 m south: the output grid starts inside a 10 m block.
    const swirShifted = writeFixture('B11-shifted.tif', { width: 160, height: 130, sampleType: 'uint16', crs: { epsg: 32632 }, origin: { x: 399990, y: 4999990 }, pixelSize: 20, tileSize: 32, compression: 8, predictor: 2, nodata: 0, seed: 5 });
    const bands = (swir: string): BandInput[] => [
      { name: 'red', uri: red, band: 1 },
      { name: 'nir', uri: nir, band: 1 },
      { name: 'green', uri: green, band: 1 },
      { name: 'swir16', uri: swir, band: 1 },
    ];

    for (const size of [100, 256, 300]) {
      it(`same origin, tile size ${size}`, async () => {
        await withSet(bands(swirAligned), async (set) => {
          assert.equal(set.reference.name, 'red');
          assert.equal(set.grid.width, 333);
          const tiles = tilesFor(set, size);
          if (size === 300) assert.ok(tiles.every((t) => t.width <= 256), 'rounded down to a multiple of 128');
          assert.ok(tiles.some((t) => t.width < Math.min(size, 256) || t.height < Math.min(size, 256)), 'has smaller edge tiles');
          const { payloads } = await checkAllTiles(set, bands(swirAligned), tiles);
          for (const { task } of payloads) {
            assert.equal(task.sources.length, 4);
            assert.ok(task.sources.every((s) => s.data === 'encoded' && s.sampleType === 'uint16'));
            assert.ok(task.bands.every((b) => b.hasNodata && b.nodata === 0));
            for (const source of task.sources) {
              const encoded = source.encoded!;
              assert.equal(encoded.compression, 8);
              assert.equal(encoded.predictor, 2);
              // Exactly the blocks covering the window.
              const across = Math.floor((source.x0 + source.width - 1) / encoded.blockWidth) - Math.floor(source.x0 / encoded.blockWidth) + 1;
              const down = Math.floor((source.y0 + source.height - 1) / encoded.blockHeight) - Math.floor(source.y0 / encoded.blockHeight) + 1;
              assert.equal(encoded.blocks.length, across * down);
            }
          }
          assert.ok(payloads.some(({ task }) => task.sources.some((s) => s.encoded!.blocks.some((b) => b.data.length === 0))), 'a sparse block was shipped');
        });
      });
    }

    it('shifted 20 m band: grid starts inside a block, tiles aligned to blocks', async () => {
      await withSet(bands(swirShifted), async (set) => {
        assert.deepEqual(set.referenceOffset, { column: 3, row: 5 });
        const tiles = tilesFor(set, 256);
        // Tile edges at multiples of 256 reference-band pixels (block edges), so the first tile is short.
        assert.equal(tiles[0]!.width, 256 - 3);
        assert.equal(tiles[0]!.height, 256 - 5);
        assert.equal(tiles[1]!.left, 253);
        await checkAllTiles(set, bands(swirShifted), tiles);
        await checkAllTiles(set, bands(swirShifted), tilesFor(set, 48));
      });
    });

    it('a grid reaching past a band gives −1 columns/rows there', async () => {
      await withSet(bands(swirAligned).slice(0, 1), async (set) => {
        const grid: OutputGrid = { ...set.grid, originX: set.grid.originX - 55, originY: set.grid.originY + 35, width: set.grid.width + 12, height: set.grid.height + 9 };
        const tiles = planTiles(grid, 128);
        const result = await checkAllTiles({ grid, bands: set.bands }, bands(swirAligned).slice(0, 1), tiles, grid);
        assert.ok(result.outside > 0);
        const first = result.payloads[0]!.task.bands[0]!;
        assert.deepEqual(first.columns.slice(0, 6), [-1, -1, -1, -1, -1, 0]);
        assert.deepEqual(first.rows.slice(0, 4), [-1, -1, -1, 0]);
      });
    });

    it('a corrupted block byte fails the checksum', async () => {
      await withSet(bands(swirAligned), async (set) => {
        const tile = tilesFor(set, 256)[0]!;
        const task = overTheWire(await readTile(set, tile), tile);
        const source = task.sources[0]!;
        const block = source.encoded!.blocks.find((b) => b.data.length > 0)!;
        block.data[Math.floor(block.data.length / 2)]! ^= 0x40;
        await assert.rejects(decodeSourceWindow(source), ChecksumMismatchError);
      });
    });
  });

  it('(c) tiled planar multi-band file: one source, blocks only for the needed samples', async () => {
    const path = writeFixture('planar.tif', { width: 150, height: 101, sampleType: 'int16', count: 6, planarConfiguration: 2, crs: { epsg: 3035 }, origin: { x: 4321000, y: 3210000 }, pixelSize: 25, tileSize: { width: 48, height: 32 }, compression: 8, predictor: 2, nodata: -32768, seed: 7, sparse: (b) => b.sample === 3 && b.column === 0 && b.row === 0 });
    const inputs: BandInput[] = [
      { name: 'red', uri: path, band: 4 },
      { name: 'nir', uri: path, band: 5 },
      { name: 'green', uri: path, band: 2 },
      { name: 'swir16', uri: path, band: 6 },
    ];
    await withSet(inputs, async (set) => {
      const tiles = tilesFor(set, 64);
      const { payloads } = await checkAllTiles(set, inputs, tiles);
      for (const { tile, task } of payloads) {
        assert.equal(task.sources.length, 1);
        assert.ok(task.bands.every((b) => b.hasNodata && b.nodata === -32768));
        const source = task.sources[0]!;
        if (tile.index === 0) {
          // Its window holds a sparse block, which must read as nodata (-32768), not as the
          // worker's 0: the master ships decoded samples instead.
          assert.equal(source.data, 'decoded');
          continue;
        }
        const encoded = source.encoded!;
        assert.equal(encoded.planarConfiguration, 2);
        assert.deepEqual([...new Set(encoded.blocks.map((b) => b.sample))].sort(), [1, 3, 4, 5]);
      }
    });
  });

  it('(d) float32 tiled file with the floating-point predictor', async () => {
    const path = writeFixture('float.tif', { width: 90, height: 70, sampleType: 'float32', count: 2, crs: { epsg: 32736 }, origin: { x: 300000, y: 9000000 }, pixelSize: { x: 30, y: 20 }, tileSize: 32, compression: 8, predictor: 3, seed: 9 });
    const inputs: BandInput[] = [
      { name: 'red', uri: path, band: 1 },
      { name: 'nir', uri: path, band: 2 },
    ];
    await withSet(inputs, async (set) => {
      const { payloads } = await checkAllTiles(set, inputs, tilesFor(set, 40));
      for (const { task } of payloads) {
        assert.equal(task.sources.length, 1);
        assert.equal(task.sources[0]!.sampleType, 'float32');
        assert.equal(task.sources[0]!.encoded!.predictor, 3);
      }
    });
  });

  it('(e) striped float32 file: decoded path keeps the exact floats', async () => {
    const path = writeFixture('float-striped.tif', { width: 61, height: 47, sampleType: 'float32', crs: { epsg: 32736 }, origin: { x: 300000, y: 9000000 }, pixelSize: 30, rowsPerStrip: 4, compression: 8, predictor: 3, seed: 11 });
    const inputs: BandInput[] = [{ name: 'nir', uri: path, band: 1 }];
    await withSet(inputs, async (set) => {
      const { payloads } = await checkAllTiles(set, inputs, tilesFor(set, 16));
      assert.ok(payloads.every(({ task }) => task.sources[0]!.data === 'decoded'));
    });
  });

  it('a corrupted decoded byte fails the checksum', async () => {
    await withSet([{ name: 'red', uri: SAMPLE, band: 3 }], async (set) => {
      const tile = tilesFor(set, 64)[5]!;
      const task = overTheWire(await readTile(set, tile), tile);
      task.sources[0]!.decoded!.data[7]! ^= 1;
      await assert.rejects(decodeSourceWindow(task.sources[0]!), ChecksumMismatchError);
    });
  });

  describe('(f) GDAL-written tiled copies of the Landsat sample', () => {
    const gdal = spawnSync('gdal_translate', ['--version'], { encoding: 'utf8' });
    const skip = gdal.status === 0 ? false : 'gdal_translate is not installed on this machine';
    const variants: Array<{ compress: string; code: number; options: string[] }> = [
      { compress: 'LZW', code: 5, options: ['-co', 'PREDICTOR=2'] },
      { compress: 'DEFLATE', code: 8, options: ['-co', 'PREDICTOR=2', '-co', 'INTERLEAVE=BAND'] },
      { compress: 'ZSTD', code: 50000, options: [] },
      { compress: 'PACKBITS', code: 32773, options: [] },
      { compress: 'NONE', code: 1, options: [] },
    ];
    for (const variant of variants) {
      it(`${variant.compress} blocks decode to the original pixels`, { skip }, async () => {
        const path = join(dir, `l7-${variant.compress}.tif`);
        const run = spawnSync('gdal_translate', ['-q', '-co', 'TILED=YES', '-co', 'BLOCKXSIZE=64', '-co', 'BLOCKYSIZE=32', '-co', `COMPRESS=${variant.compress}`, ...variant.options, SAMPLE, path], { encoding: 'utf8' });
        assert.equal(run.status, 0, run.stderr);
        const inputs: BandInput[] = [
          { name: 'red', uri: path, band: 3 },
          { name: 'nir', uri: path, band: 4 },
        ];
        await withSet(inputs, async (set) => {
          const tiles = tilesFor(set, 100);
          // Compare against the ORIGINAL striped sample, not the copy.
          const { payloads } = await checkAllTiles(set, inputs.map((i) => ({ ...i, uri: SAMPLE })), tiles);
          for (const { task } of payloads) {
            assert.equal(task.sources.length, 1);
            assert.equal(task.sources[0]!.encoded?.compression, variant.code);
          }
        });
      });
    }
  });
});

describe('decodeSourceWindow', () => {
  it('restricts to the requested samples and fills sparse blocks with the given value', async () => {
    const path = writeFixture('sparse.tif', { width: 40, height: 40, sampleType: 'uint16', count: 2, crs: { epsg: 32632 }, origin: { x: 0, y: 4000 }, pixelSize: 10, tileSize: 16, compression: 8, nodata: 9, sparse: (b) => b.column === 0 && b.row === 0 });
    await withSet([{ name: 'red', uri: path, band: 2 }], async (set) => {
      const tile = planTiles(set.grid, 32)[0]!;
      const task = overTheWire(await readTile(set, tile), tile);
      const source = task.sources[0]!;
      const decoded = await decodeSourceWindow(source, { samples: [1], sparseFill: new Map([[1, 9]]) });
      assert.deepEqual([...decoded.keys()], [1]);
      const values = decoded.get(1)!;
      assert.equal(values[0], 9);
      assert.equal(values[15 * source.width + 15], 9);
      const truth = await truthFor(path, 1);
      assert.equal(values[16], truth.values[16]);
      await assert.rejects(decodeSourceWindow(source, { samples: [5] }), /requested/);
    });
  });

  it('rejects unknown sample types and inconsistent sizes', async () => {
    await withSet([{ name: 'red', uri: SAMPLE, band: 3 }], async (set) => {
      const tile = planTiles(set.grid, 32)[0]!;
      const task = overTheWire(await readTile(set, tile), tile);
      await assert.rejects(decodeSourceWindow({ ...task.sources[0]!, sampleType: 'complex64' }), /unknown sample type "complex64"/);
      await assert.rejects(decodeSourceWindow({ ...task.sources[0]!, width: task.sources[0]!.width + 1 }), /expected/);
    });
  });
});
