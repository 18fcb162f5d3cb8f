/**
 * A generated multi-band mosaic for EarthDaily tests: a tiled DEFLATE COG (tiff-writer + cog-writer)
 * with internal overviews whose values differ per level, band and pixel, no-data pixels (a map
 * rectangle and a random scatter), and the arrays it was made from, so a test can look up the value
 * any output pixel must have without reading the file. `checkStrips` describes every planned strip,
 * sends its task and data through protobuf, assembles it as a worker would and compares every pixel.
 */
import assert from 'node:assert/strict';
import type { BandSet } from '../../master/source/band-set.js';
import { referenceRowsFor } from '../../master/source/band-set.js';
import { planStrips } from '../../master/source/strip-plan.js';
import { writeCog } from './cog-writer.js';
import { prng } from './prng.js';
import { writeGeoTiff } from './tiff-writer.js';
import { assemble, stripOverTheWire } from './over-the-wire.js';
import { bytesInt32 } from '../../shared/proto/int32-bytes.js';

export interface MosaicFixtureOptions {
  /** Full-resolution width and height (square). */
  readonly size: number;
  readonly block: number;
  /** Full-resolution pixel size in CRS units. */
  readonly pixel: { readonly x: number; readonly y: number };
  readonly origin: { readonly x: number; readonly y: number };
  readonly crs: { readonly epsg: number; readonly geographic?: boolean };
  readonly bands: number;
  /** Overview count; overview k is size / 2^k. */
  readonly overviews: number;
  readonly sampleType: 'float32' | 'uint16';
  readonly nodata: number;
  /** Pixels whose centre lies in this map rectangle are no-data in every band and level. */
  readonly nodataRect?: { readonly minX: number; readonly minY: number; readonly maxX: number; readonly maxY: number };
  readonly seed?: number;
}

export interface FixtureLevel {
  readonly width: number;
  readonly height: number;
  readonly pixel: { readonly x: number; readonly y: number };
  /** One row-major array per band. */
  readonly bands: ReadonlyArray<Float32Array | Uint16Array>;
}

export interface MosaicFixture {
  readonly options: MosaicFixtureOptions;
  readonly bytes: Buffer;
  readonly levels: readonly FixtureLevel[];
  /** The value of band `band` (0-based) of `level` at a map position; undefined outside the mosaic. */
  valueAt(level: number, band: number, x: number, y: number): number | undefined;
}

export function makeMosaicFixture(options: MosaicFixtureOptions): MosaicFixture {
  const random = prng(options.seed ?? 7);
  const levels: FixtureLevel[] = [];
  const files: Uint8Array[] = [];
  for (let level = 0; level <= options.overviews; level++) {
    const width = options.size >> level;
    const height = options.size >> level;
    const pixel = { x: options.pixel.x * 2 ** level, y: options.pixel.y * 2 ** level };
    const bands = Array.from({ length: options.bands }, () =>
      options.sampleType === 'float32' ? new Float32Array(width * height) : new Uint16Array(width * height),
    );
    for (let y = 0; y < height; y++) {
      const my = options.origin.y - (y + 0.5) * pixel.y;
      for (let x = 0; x < width; x++) {
        const mx = options.origin.x + (x + 0.5) * pixel.x;
        const i = y * width + x;
        const masked = options.nodataRect !== undefined && mx >= options.nodataRect.minX && mx < options.nodataRect.maxX && my >= options.nodataRect.minY && my < options.nodataRect.maxY;
        for (let b = 0; b < options.bands; b++) {
          const noise = random();
          if (masked || noise < 0.003) {
            bands[b]![i] = options.nodata;
            continue;
          }
          bands[b]![i] =
            options.sampleType === 'float32'
              ? level * 100_000 + b * 20_000 + ((x * 7 + y * 13) % 9973) + Math.floor(noise * 4096) / 4
              : 1 + level * 5_000 + b * 12_000 + ((x * 7 + y * 13) % 4000) + Math.floor(noise * 1000);
        }
      }
    }
    levels.push({ width, height, pixel, bands });
    files.push(
      writeGeoTiff({
        width,
        height,
        sampleType: options.sampleType,
        samples: bands,
        tileSize: options.block,
        compression: 8,
        predictor: options.sampleType === 'float32' ? 3 : 2,
        deflateLevel: 1,
        crs: options.crs,
        origin: options.origin,
        pixelSize: pixel,
        nodata: options.nodata,
      }),
    );
  }
  return {
    options,
    bytes: writeCog(files),
    levels,
    valueAt(level, band, x, y) {
      const l = levels[level]!;
      const column = Math.floor((x - options.origin.x) / l.pixel.x);
      const row = Math.floor((options.origin.y - y) / l.pixel.y);
      if (column < 0 || row < 0 || column >= l.width || row >= l.height) return undefined;
      return l.bands[band]![row * l.width + column];
    },
  };
}



export interface TileCheck {
  readonly tiles: number;
  /** Output pixels × bands compared with a fixture value / found outside the mosaic. */
  readonly compared: number;
  readonly outside: number;
  readonly nodata: number;
  /** Source windows that travelled as the file's compressed blocks / decoded. */
  readonly encodedSources: number;
  readonly decodedSources: number;
  /** Block size of the encoded windows (the level's internal tiles). */
  readonly blockSizes: ReadonlySet<string>;
}

/**
 * Every strip planned on the set (`rows` rows each) described, sent and assembled; then every output
 * pixel of every band must equal the fixture's value at the pixel centre in `level`; `bandNumbers`
 * maps band names to 1-based band numbers.
 */
export async function checkStrips(
  set: BandSet,
  fixture: MosaicFixture,
  level: number,
  bandNumbers: ReadonlyMap<string, number>,
  rows: number,
): Promise<TileCheck> {
  const { grid } = set;
  const strips = planStrips(grid, { pixelBudget: 1, rows, reference: referenceRowsFor(set) });
  let compared = 0;
  let outside = 0;
  let nodata = 0;
  let encodedSources = 0;
  let decodedSources = 0;
  const blockSizes = new Set<string>();
  for (const strip of strips) {
    const { task, chunks } = await stripOverTheWire(set, strip);
    for (const source of task.sources) {
      if (source.encoded) {
        encodedSources++;
        blockSizes.add(`${source.encoded.blockWidth}x${source.encoded.blockHeight}`);
      } else decodedSources++;
    }
    const decoded = await assemble(task, chunks);
    assert.equal(task.bands.length, set.bands.length);
    for (const band of task.bands) {
      const number = bandNumbers.get(band.name);
      assert.ok(number !== undefined, `band ${band.name} expected`);
      assert.equal(band.sample, number - 1, `${band.name} reads sample ${number - 1}`);
      assert.equal(band.hasNodata, true, `${band.name} carries the file's no-data value`);
      assert.equal(band.nodata, fixture.options.nodata);
      const source = task.sources[band.source]!;
      const values = decoded[band.source]!.get(band.sample);
      assert.ok(values, `${band.name}: sample ${band.sample} decoded`);
      const columns = bytesInt32(band.columnMap);
      const rows = bytesInt32(band.rowMap);
      for (let j = 0; j < strip.rows; j++) {
        const y = grid.originY - (strip.top + j + 0.5) * grid.pixelHeight;
        for (let i = 0; i < grid.width; i++) {
          const x = grid.originX + (i + 0.5) * grid.pixelWidth;
          const expected = fixture.valueAt(level, number - 1, x, y);
          const c = columns[i]!;
          const r = rows[j]!;
          if (expected === undefined) {
            assert.ok(c < 0 || r < 0, `${band.name} strip ${strip.index} (${i}, ${j}) lies outside the mosaic`);
            outside++;
            continue;
          }
          assert.ok(c >= 0 && r >= 0 && c < source.width && r < source.height, `${band.name} strip ${strip.index} (${i}, ${j}) inside its window`);
          const actual: number | undefined = values[r * source.width + c];
          if (actual !== expected) assert.fail(`${band.name} strip ${strip.index} pixel (${i}, ${j}): got ${actual}, expected ${expected}`);
          if (expected === fixture.options.nodata) nodata++;
          compared++;
        }
      }
    }
  }
  return { tiles: strips.length, compared, outside, nodata, encodedSources, decodedSources, blockSizes };
}
