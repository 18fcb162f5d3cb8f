import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fromFile } from 'geotiff';
import { ChecksumMismatchError } from '../../shared/errors.js';
import type { SourceChunk__Output, TileTask__Output } from '../../shared/proto/tile-service.js';
import type { BandInput, BandName, SampleType, SourceBandName } from '../../shared/types.js';
import { openBandSet, referenceRowsFor, type BandSet, type OutputGrid } from '../../master/source/band-set.js';
import { planStrips, type PlannedStrip } from '../../master/source/strip-plan.js';
import { bytesInt32 } from '../../shared/proto/int32-bytes.js';
import { SourceDataError } from '../../worker/source-assembler.js';
import { writeGeoTiff, type GeoTiffWriterOptions } from '../support/tiff-writer.js';
import { assemble, stripOverTheWire } from '../support/over-the-wire.js';

const SAMPLE = 'samples/L7_ETMs.tif';
const dir = mkdtempSync(join(tmpdir(), 'tessera-strip-reader-'));
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
  readonly payloads: Array<{ strip: PlannedStrip; task: TileTask__Output; chunks: readonly SourceChunk__Output[] }>;
  /** Output pixels compared with a source value / found outside the band (over all bands). */
  readonly compared: number;
  readonly outside: number;
}

/**
 * For every strip: describeStrip → protobuf (task and chunks) → SourceAssembler, then every output
 * pixel of every band looked up through columns/rows must equal the independent nearest-neighbour value.
 */
async function checkAllStrips(set: Pick<BandSet, 'grid' | 'bands'>, inputs: readonly BandInput[], strips: readonly PlannedStrip[], grid: OutputGrid = set.grid): Promise<Checked> {
  const truths = new Map<SourceBandName, Truth>();
  for (const input of inputs) truths.set(input.name, await truthFor(input.uri, input.band - 1));
  const payloads: Checked['payloads'] = [];
  let compared = 0;
  let outside = 0;
  for (const strip of strips) {
    const { task, chunks } = await stripOverTheWire(set, strip);
    const decoded = await assemble(task, chunks);
    assert.equal(task.bands.length, inputs.length);
    for (const band of task.bands) {
      const truth = truths.get(band.name as BandName)!;
      const source = task.sources[band.source]!;
      const values = decoded[band.source]!.get(band.sample);
      assert.ok(values, `${band.name}: sample ${band.sample} decoded`);
      assert.equal(values.length, source.width * source.height);
      const columns = bytesInt32(band.columnMap);
      const rows = bytesInt32(band.rowMap);
      assert.equal(columns.length, grid.width);
      assert.equal(rows.length, strip.rows);
      const input = inputs.find((i) => i.name === band.name)!;
      assert.equal(band.sample, input.band - 1);
      for (let j = 0; j < strip.rows; j++) {
        const y = grid.originY - (strip.top + j + 0.5) * grid.pixelHeight;
        for (let i = 0; i < grid.width; i++) {
          const x = grid.originX + (i + 0.5) * grid.pixelWidth;
          const expected = truth.at(x, y);
          const c = columns[i]!;
          const r = rows[j]!;
          if (expected === undefined) {
            assert.ok(c < 0 || r < 0, `${band.name} strip ${strip.index} (${i}, ${j}) should be outside the band`);
            outside++;
            continue;
          }
          assert.ok(c >= 0 && r >= 0 && c < source.width && r < source.height, `${band.name} strip ${strip.index} (${i}, ${j}) index in window`);
          const actual: number | undefined = values[r * source.width + c];
          if (actual !== expected) {
            assert.fail(`${band.name} strip ${strip.index} pixel (${i}, ${j}): got ${actual}, expected ${expected}`);
          }
          compared++;
        }
      }
    }
    payloads.push({ strip, task, chunks });
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

function stripsFor(set: BandSet, rows: number): PlannedStrip[] {
  return planStrips(set.grid, { pixelBudget: 1, rows, reference: referenceRowsFor(set) });
}

async function withSet<T>(inputs: readonly BandInput[], use: (set: BandSet) => Promise<T>): Promise<T> {
  const set = await openBandSet(inputs);
  try {
    return await use(set);
  } finally {
    await set.close();
  }
}

describe('describeStrip → protobuf → SourceAssembler', () => {
  it('(a) the striped Landsat sample: its own strips shipped, one shared source for 4 bands', async () => {
    const inputs: BandInput[] = [
      { name: 'red', uri: SAMPLE, band: 3 },
      { name: 'nir', uri: SAMPLE, band: 4 },
      { name: 'green', uri: SAMPLE, band: 2 },
      { name: 'swir16', uri: SAMPLE, band: 5 },
    ];
    await withSet(inputs, async (set) => {
      const strips = stripsFor(set, 100);
      assert.ok(strips.length >= 4);
      const { payloads } = await checkAllStrips(set, inputs, strips);
      for (const { task } of payloads) {
        assert.equal(task.sources.length, 1);
        const [source] = task.sources;
        assert.equal(source!.layout, 'encoded');
        assert.equal(source!.encoded!.tiled, false);
        assert.equal(source!.encoded!.blockWidth, 349, 'a file strip is as wide as the image');
        assert.equal(source!.sampleType, 'uint8');
        assert.ok(task.bands.every((b) => b.source === 0 && !b.hasNodata));
      }
      // geotiff keeps no decoded-block cache (memory stays flat across strips).
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

    for (const rows of [64, 128, 300]) {
      it(`same origin, ${rows} rows per strip`, async () => {
        await withSet(bands(swirAligned), async (set) => {
          assert.equal(set.reference.name, 'red');
          assert.equal(set.grid.width, 333);
          const strips = stripsFor(set, rows);
          if (rows === 300) assert.ok(strips.every((s) => s.rows <= 256), 'rounded down to whole 128-row blocks');
          if (rows === 64) assert.ok(strips.every((s) => s.top % 64 === 0), 'two strips per block row');
          const { payloads } = await checkAllStrips(set, bands(swirAligned), strips);
          for (const { task } of payloads) {
            assert.equal(task.width, 333);
            assert.equal(task.sources.length, 4);
            assert.ok(task.sources.every((s) => s.layout === 'encoded' && s.sampleType === 'uint16'));
            assert.ok(task.bands.every((b) => b.hasNodata && b.nodata === 0));
            for (const source of task.sources) {
              const encoded = source.encoded!;
              assert.equal(encoded.compression, 8);
              assert.equal(encoded.predictor, 2);
              // Exactly the blocks covering the window, each once.
              const across = Math.floor((source.x0 + source.width - 1) / encoded.blockWidth) - Math.floor(source.x0 / encoded.blockWidth) + 1;
              const down = Math.floor((source.y0 + source.height - 1) / encoded.blockHeight) - Math.floor(source.y0 / encoded.blockHeight) + 1;
              assert.equal(encoded.blocks.length, across * down);
            }
          }
          assert.ok(payloads.some(({ task }) => task.sources.some((s) => s.encoded!.blocks.some((b) => b.byteCount === 0))), 'a sparse block was listed');
        });
      });
    }

    it('shifted 20 m band: grid starts inside a block, strips aligned to block rows', async () => {
      await withSet(bands(swirShifted), async (set) => {
        assert.deepEqual(set.referenceOffset, { column: 3, row: 5 });
        const strips = stripsFor(set, 256);
        // Strip edges at multiples of 256 reference-band rows (block edges), so the first strip is short.
        assert.equal(strips[0]!.rows, 256 - 5);
        assert.equal(strips[1]!.top, 251);
        await checkAllStrips(set, bands(swirShifted), strips);
        await checkAllStrips(set, bands(swirShifted), stripsFor(set, 48));
      });
    });

    it('a grid reaching past a band gives −1 columns/rows there', async () => {
      await withSet(bands(swirAligned).slice(0, 1), async (set) => {
        const grid: OutputGrid = { ...set.grid, originX: set.grid.originX - 55, originY: set.grid.originY + 35, width: set.grid.width + 12, height: set.grid.height + 9 };
        const strips = planStrips(grid, { pixelBudget: 1, rows: 128 });
        const result = await checkAllStrips({ grid, bands: set.bands }, bands(swirAligned).slice(0, 1), strips, grid);
        assert.ok(result.outside > 0);
        const first = result.payloads[0]!.task.bands[0]!;
        assert.deepEqual([...bytesInt32(first.columnMap).slice(0, 6)], [-1, -1, -1, -1, -1, 0]);
        assert.deepEqual([...bytesInt32(first.rowMap).slice(0, 4)], [-1, -1, -1, 0]);
      });
    });

    it('DEFLATE blocks travel without a CRC (their zlib Adler-32 checks them): a corrupted byte still fails', async () => {
      await withSet(bands(swirAligned), async (set) => {
        const { task, chunks } = await stripOverTheWire(set, stripsFor(set, 128)[0]!);
        assert.ok(chunks.every((c) => c.zlibChecked && c.checksum === 0));
        const chunk = chunks.find((c) => c.data.length > 0)!;
        chunk.data[Math.floor(chunk.data.length / 2)]! ^= 0x40;
        await assert.rejects(assemble(task, chunks), (error: unknown) => error instanceof SourceDataError && /cannot decode block/.test(error.message));
      });
    });

    it('a chunk that claims to check itself is refused unless its window is DEFLATE', async () => {
      const path = writeFixture('uncompressed.tif', { width: 64, height: 32, sampleType: 'uint16', crs: { epsg: 32632 }, origin: { x: 399960, y: 5000040 }, pixelSize: 10, tileSize: 32, nodata: 0, seed: 8 });
      await withSet([{ name: 'red', uri: path, band: 1 }], async (set) => {
        const { task, chunks } = await stripOverTheWire(set, stripsFor(set, 32)[0]!);
        assert.ok(chunks.every((c) => !c.zlibChecked && c.checksum !== 0), 'uncompressed blocks carry a CRC');
        const forged = chunks.map((c) => ({ ...c, zlibChecked: true, checksum: 0 }));
        await assert.rejects(assemble(task, forged), /sent without a CRC, but it is not a zlib stream/);
        chunks[0]!.data[3]! ^= 1;
        await assert.rejects(assemble(task, chunks), ChecksumMismatchError);
      });
    });

    it('a block split over several chunks arrives whole', async () => {
      await withSet(bands(swirAligned), async (set) => {
        const strip = stripsFor(set, 128)[1]!;
        const whole = await stripOverTheWire(set, strip);
        const split = await stripOverTheWire(set, strip, { chunkBytes: 999 });
        assert.ok(split.chunks.length > whole.chunks.length * 3);
        assert.deepEqual(await assemble(split.task, split.chunks), await assemble(whole.task, whole.chunks));
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
      const { payloads } = await checkAllStrips(set, inputs, stripsFor(set, 32));
      for (const { strip, task } of payloads) {
        assert.equal(task.sources.length, 1);
        assert.ok(task.bands.every((b) => b.hasNodata && b.nodata === -32768));
        const source = task.sources[0]!;
        if (strip.index === 0) {
          // Its window holds a sparse block, which must read as nodata (-32768), not as the
          // worker's 0: the master ships decoded samples instead.
          assert.equal(source.layout, 'decoded');
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
      const { payloads } = await checkAllStrips(set, inputs, stripsFor(set, 40));
      for (const { task } of payloads) {
        assert.equal(task.sources.length, 1);
        assert.equal(task.sources[0]!.sampleType, 'float32');
        assert.equal(task.sources[0]!.encoded!.predictor, 3);
      }
    });
  });

  it('(e) striped float32 file with a short last strip: exact floats, strips shipped as stored', async () => {
    const path = writeFixture('float-striped.tif', { width: 61, height: 47, sampleType: 'float32', crs: { epsg: 32736 }, origin: { x: 300000, y: 9000000 }, pixelSize: 30, rowsPerStrip: 4, compression: 8, predictor: 3, seed: 11 });
    const inputs: BandInput[] = [{ name: 'nir', uri: path, band: 1 }];
    await withSet(inputs, async (set) => {
      const strips = stripsFor(set, 16);
      assert.equal(strips.at(-1)!.rows, 47 - 32, 'the last strip ends on the short file strip');
      const { payloads } = await checkAllStrips(set, inputs, strips);
      assert.ok(payloads.every(({ task }) => task.sources[0]!.encoded?.tiled === false));
    });
  });

  it('a corrupted decoded byte fails the checksum', async () => {
    const path = writeFixture('sparse-nodata.tif', { width: 40, height: 40, sampleType: 'uint16', crs: { epsg: 32632 }, origin: { x: 0, y: 4000 }, pixelSize: 10, tileSize: 16, compression: 8, nodata: 9, sparse: (b) => b.column === 0 && b.row === 0 });
    await withSet([{ name: 'red', uri: path, band: 1 }], async (set) => {
      const { task, chunks } = await stripOverTheWire(set, stripsFor(set, 16)[0]!);
      assert.equal(task.sources[0]!.layout, 'decoded', 'a sparse block that must read as nodata 9');
      const decoded = await assemble(task, chunks);
      assert.equal(decoded[0]!.get(0)![0], 9);
      chunks[0]!.data[7]! ^= 1;
      await assert.rejects(assemble(task, chunks), ChecksumMismatchError);
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
          // Compare against the ORIGINAL striped sample, not the copy.
          const { payloads } = await checkAllStrips(set, inputs.map((i) => ({ ...i, uri: SAMPLE })), stripsFor(set, 100));
          for (const { task } of payloads) {
            assert.equal(task.sources.length, 1);
            assert.equal(task.sources[0]!.encoded?.compression, variant.code);
          }
        });
      });
    }
  });
});

describe('SourceAssembler', () => {
  const tiled = (): string =>
    writeFixture('assembler.tif', { width: 40, height: 40, sampleType: 'uint16', count: 2, crs: { epsg: 32632 }, origin: { x: 0, y: 4000 }, pixelSize: 10, tileSize: 16, compression: 8, predictor: 2, nodata: 0 });

  it('refuses chunks out of order, extra data, and a stream that ends early', async () => {
    await withSet([{ name: 'red', uri: tiled(), band: 2 }], async (set) => {
      const { task, chunks } = await stripOverTheWire(set, stripsFor(set, 16)[0]!);
      assert.ok(chunks.length >= 3);
      await assert.rejects(assemble(task, [chunks[1]!, chunks[0]!, ...chunks.slice(2)]), (e: unknown) => e instanceof SourceDataError && /part 1 arrived where source 0 part 0 was expected/.test(e.message));
      await assert.rejects(assemble(task, [...chunks, chunks[0]!]), /more source data than the task lists/);
      await assert.rejects(assemble(task, chunks.slice(0, -1)), /ended early: source 0 part 2/);
      const short = { ...chunks[0]!, data: chunks[0]!.data.subarray(1) };
      await assert.rejects(assemble(task, [{ ...short, checksum: (await import('../../shared/checksum.js')).crc32(short.data) }, ...chunks.slice(1)]), /bytes listed|bytes, \d+ listed/);
    });
  });

  it('refuses unknown sample types and block lists that do not cover the window', async () => {
    await withSet([{ name: 'red', uri: tiled(), band: 2 }], async (set) => {
      const { task } = await stripOverTheWire(set, stripsFor(set, 16)[0]!);
      await assert.rejects(assemble({ ...task, sources: [{ ...task.sources[0]!, sampleType: 'complex64' }] }, []), /unknown sample type "complex64"/);
      await assert.rejects(assemble({ ...task, sources: [{ ...task.sources[0]!, encoded: { ...task.sources[0]!.encoded!, blocks: task.sources[0]!.encoded!.blocks.slice(1) } }] }, []), /block \(0, 0\) is not listed/);
    });
  });
});
