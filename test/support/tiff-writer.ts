/**
 * A small GeoTIFF writer for tests and fixtures: classic little-endian TIFF, striped or tiled,
 * chunky or planar, uncompressed or DEFLATE with the horizontal (2) or floating-point (3)
 * predictor, GeoKeys for one EPSG code, ModelPixelScale + ModelTiepoint (or a raw
 * ModelTransformation), and an optional GDAL_NODATA tag. geotiff's own writer only does
 * uncompressed strips, which is not what real imagery looks like.
 */
import { endianness } from 'node:os';
import { deflateSync } from 'node:zlib';
import type { SampleType } from '../../shared/types.js';
import { ASCII, DOUBLE, LONG, SHORT, even, valueSize, writeValues, type Entry } from './tiff-entries.js';

export interface GeoTiffWriterOptions {
  readonly width: number;
  readonly height: number;
  readonly sampleType: SampleType;
  /** One array per sample (band), each row-major width × height. */
  readonly samples: ReadonlyArray<ArrayLike<number>>;
  /** 1 = pixel-interleaved (default), 2 = planar (one plane of blocks per sample). */
  readonly planarConfiguration?: 1 | 2;
  /** Tiled when given (each side a multiple of 16); striped otherwise. */
  readonly tileSize?: number | { readonly width: number; readonly height: number };
  /** Striped files: rows per strip (default: about 8 KB per strip, as GDAL does). */
  readonly rowsPerStrip?: number;
  /** 1 = none (default), 8 = DEFLATE (zlib). */
  readonly compression?: 1 | 8;
  /** 1 = none (default), 2 = horizontal differencing (integers), 3 = floating point. */
  readonly predictor?: 1 | 2 | 3;
  /**
   * The CRS as one EPSG code: ProjectedCSTypeGeoKey, or GeographicTypeGeoKey when `geographic`.
   * `null` writes no GeoKeyDirectory at all.
   */
  readonly crs: { readonly epsg: number; readonly geographic?: boolean } | null;
  /** Upper-left corner of the upper-left pixel, in CRS units. */
  readonly origin: { readonly x: number; readonly y: number };
  /** Pixel size in CRS units (positive; the image is north-up). A number means square pixels. */
  readonly pixelSize: number | { readonly x: number; readonly y: number };
  /** GTRasterTypeGeoKey: 'area' (1, default) or 'point' (2). */
  readonly rasterType?: 'area' | 'point';
  /** 16 values written as ModelTransformation instead of ModelPixelScale + ModelTiepoint. */
  readonly modelTransformation?: readonly number[];
  /** Written as the GDAL_NODATA ASCII tag (numbers are formatted with String(), NaN as "nan"). */
  readonly nodata?: number | string;
  /** Blocks for which this returns true are written sparse (offset 0, byte count 0). */
  readonly sparse?: (block: { column: number; row: number; sample: number }) => boolean;
  /** zlib level for DEFLATE (default 6). */
  readonly deflateLevel?: number;
}



interface SampleCodec {
  readonly bytes: number;
  readonly format: 1 | 2 | 3;
  readonly write: (view: DataView, offset: number, value: number) => void;
}

const CODECS: Record<SampleType, SampleCodec> = {
  uint8: { bytes: 1, format: 1, write: (v, o, x) => v.setUint8(o, x) },
  int8: { bytes: 1, format: 2, write: (v, o, x) => v.setInt8(o, x) },
  uint16: { bytes: 2, format: 1, write: (v, o, x) => v.setUint16(o, x, true) },
  int16: { bytes: 2, format: 2, write: (v, o, x) => v.setInt16(o, x, true) },
  uint32: { bytes: 4, format: 1, write: (v, o, x) => v.setUint32(o, x, true) },
  int32: { bytes: 4, format: 2, write: (v, o, x) => v.setInt32(o, x, true) },
  float32: { bytes: 4, format: 3, write: (v, o, x) => v.setFloat32(o, x, true) },
  float64: { bytes: 8, format: 3, write: (v, o, x) => v.setFloat64(o, x, true) },
};

/** Encodes the image described by `options` as a complete GeoTIFF file. */
export function writeGeoTiff(options: GeoTiffWriterOptions): Buffer {
  const { width, height, sampleType, samples } = options;
  const codec = CODECS[sampleType];
  const spp = samples.length;
  const planar = options.planarConfiguration ?? 1;
  const compression = options.compression ?? 1;
  const predictor = options.predictor ?? 1;
  check(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0, 'width and height must be positive integers');
  check(spp >= 1, 'at least one sample is needed');
  for (const [i, s] of samples.entries()) check(s.length === width * height, `sample ${i} has ${s.length} values, expected ${width * height}`);
  check(predictor !== 2 || codec.format !== 3, 'predictor 2 is for integer samples');
  check(predictor !== 2 || codec.bytes <= 4, 'predictor 2 supports 8, 16 and 32-bit samples');
  check(predictor !== 3 || codec.format === 3, 'predictor 3 is for floating-point samples');
  check(predictor === 1 || endianness() === 'LE', 'predictors are only implemented on little-endian hosts');

  const tiled = options.tileSize !== undefined;
  const tileSize = typeof options.tileSize === 'number' ? { width: options.tileSize, height: options.tileSize } : options.tileSize;
  if (tileSize) check(tileSize.width % 16 === 0 && tileSize.height % 16 === 0 && tileSize.width > 0 && tileSize.height > 0, 'tile sides must be positive multiples of 16');
  const blockWidth = tileSize ? tileSize.width : width;
  const bytesPerRow = width * codec.bytes * (planar === 1 ? spp : 1);
  const blockHeight = tileSize ? tileSize.height : Math.min(height, options.rowsPerStrip ?? Math.max(1, Math.floor(8192 / bytesPerRow)));
  const across = Math.ceil(width / blockWidth);
  const down = Math.ceil(height / blockHeight);
  const planes = planar === 2 ? spp : 1;
  const blockSamples = planar === 2 ? 1 : spp;

  const blocks: Buffer[] = [];
  for (let plane = 0; plane < planes; plane++) {
    for (let row = 0; row < down; row++) {
      for (let column = 0; column < across; column++) {
        if (options.sparse?.({ column, row, sample: plane })) {
          blocks.push(Buffer.alloc(0));
          continue;
        }
        // Tiles are always full size (padded with 0); the last strip holds only the rows left.
        const rows = tiled ? blockHeight : Math.min(blockHeight, height - row * blockHeight);
        const raw = new Uint8Array(blockWidth * rows * blockSamples * codec.bytes);
        const view = new DataView(raw.buffer);
        for (let y = 0; y < rows; y++) {
          const gy = row * blockHeight + y;
          for (let x = 0; x < blockWidth; x++) {
            const gx = column * blockWidth + x;
            for (let s = 0; s < blockSamples; s++) {
              const source = samples[planar === 2 ? plane : s]!;
              const value = gx < width && gy < height ? source[gy * width + gx]! : 0;
              codec.write(view, ((y * blockWidth + x) * blockSamples + s) * codec.bytes, value);
            }
          }
        }
        applyPredictor(raw, predictor, blockWidth, rows, blockSamples, codec.bytes);
        blocks.push(compression === 8 ? deflateSync(raw, { level: options.deflateLevel ?? 6 }) : Buffer.from(raw));
      }
    }
  }

  const pixel = typeof options.pixelSize === 'number' ? { x: options.pixelSize, y: options.pixelSize } : options.pixelSize;
  const entriesFor = (offsets: readonly number[]): Entry[] => {
    const entries: Entry[] = [
      { tag: 256, type: LONG, values: [width] },
      { tag: 257, type: LONG, values: [height] },
      { tag: 258, type: SHORT, values: samples.map(() => codec.bytes * 8) },
      { tag: 259, type: SHORT, values: [compression] },
      { tag: 262, type: SHORT, values: [1] },
      { tag: 277, type: SHORT, values: [spp] },
      { tag: 284, type: SHORT, values: [planar] },
      { tag: 339, type: SHORT, values: samples.map(() => codec.format) },
    ];
    const byteCounts = blocks.map((b) => b.length);
    if (tiled) {
      entries.push(
        { tag: 322, type: LONG, values: [blockWidth] },
        { tag: 323, type: LONG, values: [blockHeight] },
        { tag: 324, type: LONG, values: offsets },
        { tag: 325, type: LONG, values: byteCounts },
      );
    } else {
      entries.push(
        { tag: 273, type: LONG, values: offsets },
        { tag: 278, type: LONG, values: [blockHeight] },
        { tag: 279, type: LONG, values: byteCounts },
      );
    }
    if (predictor !== 1) entries.push({ tag: 317, type: SHORT, values: [predictor] });
    if (spp > 1) entries.push({ tag: 338, type: SHORT, values: samples.slice(1).map(() => 0) });
    if (options.modelTransformation) {
      check(options.modelTransformation.length === 16, 'modelTransformation needs 16 values');
      entries.push({ tag: 34264, type: DOUBLE, values: options.modelTransformation });
    } else {
      entries.push(
        { tag: 33550, type: DOUBLE, values: [pixel.x, pixel.y, 0] },
        { tag: 33922, type: DOUBLE, values: [0, 0, 0, options.origin.x, options.origin.y, 0] },
      );
    }
    if (options.crs) {
      const rasterType = options.rasterType === 'point' ? 2 : 1;
      const keys: Array<[number, number]> = options.crs.geographic
        ? [[1024, 2], [1025, rasterType], [2048, options.crs.epsg], [2054, 9102]]
        : [[1024, 1], [1025, rasterType], [3072, options.crs.epsg]];
      entries.push({ tag: 34735, type: SHORT, values: [1, 1, 0, keys.length, ...keys.flatMap(([id, v]) => [id, 0, 1, v])] });
    }
    if (options.nodata !== undefined) {
      const text = typeof options.nodata === 'number' && Number.isNaN(options.nodata) ? 'nan' : String(options.nodata);
      entries.push({ tag: 42113, type: ASCII, values: `${text}\0` });
    }
    return entries.sort((a, b) => a.tag - b.tag);
  };

  // Layout: header, IFD, out-of-line values, then the blocks. Sizes do not depend on offsets.
  const draft = entriesFor(blocks.map(() => 0));
  const ifdOffset = 8;
  const ifdSize = 2 + draft.length * 12 + 4;
  let overflowSize = 0;
  for (const entry of draft) {
    const size = valueSize(entry);
    if (size > 4) overflowSize += even(size);
  }
  let cursor = ifdOffset + ifdSize + overflowSize;
  const offsets = blocks.map((block) => {
    const offset = block.length === 0 ? 0 : cursor;
    cursor += even(block.length);
    return offset;
  });
  const entries = entriesFor(offsets);

  const out = Buffer.alloc(cursor);
  out.write('II', 0, 'latin1');
  out.writeUInt16LE(42, 2);
  out.writeUInt32LE(ifdOffset, 4);
  out.writeUInt16LE(entries.length, ifdOffset);
  let overflow = ifdOffset + ifdSize;
  entries.forEach((entry, i) => {
    const at = ifdOffset + 2 + i * 12;
    const size = valueSize(entry);
    out.writeUInt16LE(entry.tag, at);
    out.writeUInt16LE(entry.type, at + 2);
    out.writeUInt32LE(typeof entry.values === 'string' ? Buffer.byteLength(entry.values, 'latin1') : entry.values.length, at + 4);
    if (size <= 4) {
      writeValues(out, at + 8, entry);
    } else {
      out.writeUInt32LE(overflow, at + 8);
      writeValues(out, overflow, entry);
      overflow += even(size);
    }
  });
  out.writeUInt32LE(0, ifdOffset + 2 + entries.length * 12);
  blocks.forEach((block, i) => block.copy(out, offsets[i]!));
  return out;
}

/** TIFF predictors, applied in place to one uncompressed block (rows of width × samples values). */
function applyPredictor(raw: Uint8Array, predictor: number, width: number, rows: number, samples: number, bytes: number): void {
  if (predictor === 1) return;
  const rowValues = width * samples;
  for (let y = 0; y < rows; y++) {
    if (predictor === 2) {
      const row =
        bytes === 1
          ? new Uint8Array(raw.buffer, y * rowValues, rowValues)
          : bytes === 2
            ? new Uint16Array(raw.buffer, y * rowValues * 2, rowValues)
            : new Uint32Array(raw.buffer, y * rowValues * 4, rowValues);
      for (let i = rowValues - 1; i >= samples; i--) row[i] = row[i]! - row[i - samples]!;
    } else {
      // Floating point: split each value's bytes into planes, most significant first, then
      // difference the byte row with a stride of `samples`.
      const rowBytes = rowValues * bytes;
      const row = raw.subarray(y * rowBytes, (y + 1) * rowBytes);
      const copy = row.slice();
      for (let i = 0; i < rowValues; i++) {
        for (let b = 0; b < bytes; b++) row[(bytes - b - 1) * rowValues + i] = copy[i * bytes + b]!;
      }
      for (let i = rowBytes - 1; i >= samples; i--) row[i] = (row[i]! - row[i - samples]!) & 0xff;
    }
  }
}




function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`writeGeoTiff: ${message}`);
}
