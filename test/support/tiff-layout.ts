/**
 * What a single-image GeoTIFF from our writers looks like, apart from its pixels: the format options,
 * the block grid they imply, the directory entries, and how one block is encoded (predictor, DEFLATE).
 * Shared by the in-memory writer (tiff-writer.ts) and the block-by-block file writer
 * (tiff-file-writer.ts), so both write the same files.
 */
import { endianness } from 'node:os';
import { deflateSync } from 'node:zlib';
import type { SampleType } from '../../shared/types.js';
import { ASCII, DOUBLE, LONG, SHORT, ifdSize, type Entry } from './tiff-entries.js';

/** Everything about a file but its pixels. */
export interface GeoTiffFormat {
  readonly width: number;
  readonly height: number;
  readonly sampleType: SampleType;
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
  /** zlib level for DEFLATE (default 6). */
  readonly deflateLevel?: number;
}

export interface SampleCodec {
  readonly bytes: number;
  readonly format: 1 | 2 | 3;
  readonly write: (view: DataView, offset: number, value: number) => void;
}

export const CODECS: Readonly<Record<SampleType, SampleCodec>> = {
  uint8: { bytes: 1, format: 1, write: (v, o, x) => v.setUint8(o, x) },
  int8: { bytes: 1, format: 2, write: (v, o, x) => v.setInt8(o, x) },
  uint16: { bytes: 2, format: 1, write: (v, o, x) => v.setUint16(o, x, true) },
  int16: { bytes: 2, format: 2, write: (v, o, x) => v.setInt16(o, x, true) },
  uint32: { bytes: 4, format: 1, write: (v, o, x) => v.setUint32(o, x, true) },
  int32: { bytes: 4, format: 2, write: (v, o, x) => v.setInt32(o, x, true) },
  float32: { bytes: 4, format: 3, write: (v, o, x) => v.setFloat32(o, x, true) },
  float64: { bytes: 8, format: 3, write: (v, o, x) => v.setFloat64(o, x, true) },
};

/** The block grid a format implies. Blocks are stored plane by plane, row by row, column by column. */
export interface GeoTiffLayout {
  readonly format: GeoTiffFormat;
  readonly samplesPerPixel: number;
  readonly codec: SampleCodec;
  readonly tiled: boolean;
  readonly blockWidth: number;
  readonly blockHeight: number;
  /** Blocks across and down one plane. */
  readonly across: number;
  readonly down: number;
  readonly planes: number;
  /** Samples interleaved in one block: all of them (chunky) or one (planar). */
  readonly blockSamples: number;
  readonly blockCount: number;
}

export function planGeoTiff(format: GeoTiffFormat, samplesPerPixel: number): GeoTiffLayout {
  const { width, height } = format;
  const codec = CODECS[format.sampleType];
  const planar = format.planarConfiguration ?? 1;
  const predictor = format.predictor ?? 1;
  check(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0, 'width and height must be positive integers');
  check(samplesPerPixel >= 1, 'at least one sample is needed');
  check(predictor !== 2 || codec.format !== 3, 'predictor 2 is for integer samples');
  check(predictor !== 2 || codec.bytes <= 4, 'predictor 2 supports 8, 16 and 32-bit samples');
  check(predictor !== 3 || codec.format === 3, 'predictor 3 is for floating-point samples');
  check(predictor === 1 || endianness() === 'LE', 'predictors are only implemented on little-endian hosts');
  const tileSize = typeof format.tileSize === 'number' ? { width: format.tileSize, height: format.tileSize } : format.tileSize;
  if (tileSize) check(tileSize.width % 16 === 0 && tileSize.height % 16 === 0 && tileSize.width > 0 && tileSize.height > 0, 'tile sides must be positive multiples of 16');
  const bytesPerRow = width * codec.bytes * (planar === 1 ? samplesPerPixel : 1);
  const blockWidth = tileSize ? tileSize.width : width;
  const blockHeight = tileSize ? tileSize.height : Math.min(height, format.rowsPerStrip ?? Math.max(1, Math.floor(8192 / bytesPerRow)));
  const across = Math.ceil(width / blockWidth);
  const down = Math.ceil(height / blockHeight);
  const planes = planar === 2 ? samplesPerPixel : 1;
  return {
    format,
    samplesPerPixel,
    codec,
    tiled: tileSize !== undefined,
    blockWidth,
    blockHeight,
    across,
    down,
    planes,
    blockSamples: planar === 2 ? 1 : samplesPerPixel,
    blockCount: across * down * planes,
  };
}

/** Rows stored in block row `row`: tiles are always full size (padded); the last strip holds only the rows left. */
export function blockRows(layout: GeoTiffLayout, row: number): number {
  return layout.tiled ? layout.blockHeight : Math.min(layout.blockHeight, layout.format.height - row * layout.blockHeight);
}

/**
 * One block as stored: the predictor applied (in place, so `raw` is clobbered) and DEFLATE when the
 * format asks for it. `raw` holds blockWidth × rows × blockSamples values, little-endian.
 */
export function encodeBlock(layout: GeoTiffLayout, raw: Uint8Array, rows: number): Buffer {
  applyPredictor(raw, layout.format.predictor ?? 1, layout.blockWidth, rows, layout.blockSamples, layout.codec.bytes);
  return layout.format.compression === 8 ? deflateSync(raw, { level: layout.format.deflateLevel ?? 6 }) : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
}

/** The image's directory entries, sorted by tag, for blocks at `offsets` of `byteCounts` bytes. */
export function geoTiffEntries(layout: GeoTiffLayout, offsets: readonly number[], byteCounts: readonly number[]): Entry[] {
  const { format, codec, samplesPerPixel: spp } = layout;
  const bits = Array.from({ length: spp }, () => codec.bytes * 8);
  const entries: Entry[] = [
    { tag: 256, type: LONG, values: [format.width] },
    { tag: 257, type: LONG, values: [format.height] },
    { tag: 258, type: SHORT, values: bits },
    { tag: 259, type: SHORT, values: [format.compression ?? 1] },
    { tag: 262, type: SHORT, values: [1] },
    { tag: 277, type: SHORT, values: [spp] },
    { tag: 284, type: SHORT, values: [format.planarConfiguration ?? 1] },
    { tag: 339, type: SHORT, values: bits.map(() => codec.format) },
  ];
  if (layout.tiled) {
    entries.push(
      { tag: 322, type: LONG, values: [layout.blockWidth] },
      { tag: 323, type: LONG, values: [layout.blockHeight] },
      { tag: 324, type: LONG, values: offsets },
      { tag: 325, type: LONG, values: byteCounts },
    );
  } else {
    entries.push(
      { tag: 273, type: LONG, values: offsets },
      { tag: 278, type: LONG, values: [layout.blockHeight] },
      { tag: 279, type: LONG, values: byteCounts },
    );
  }
  const predictor = format.predictor ?? 1;
  if (predictor !== 1) entries.push({ tag: 317, type: SHORT, values: [predictor] });
  if (spp > 1) entries.push({ tag: 338, type: SHORT, values: bits.slice(1).map(() => 0) });
  if (format.modelTransformation) {
    check(format.modelTransformation.length === 16, 'modelTransformation needs 16 values');
    entries.push({ tag: 34264, type: DOUBLE, values: format.modelTransformation });
  } else {
    const pixel = typeof format.pixelSize === 'number' ? { x: format.pixelSize, y: format.pixelSize } : format.pixelSize;
    entries.push(
      { tag: 33550, type: DOUBLE, values: [pixel.x, pixel.y, 0] },
      { tag: 33922, type: DOUBLE, values: [0, 0, 0, format.origin.x, format.origin.y, 0] },
    );
  }
  if (format.crs) {
    const rasterType = format.rasterType === 'point' ? 2 : 1;
    const keys: Array<[number, number]> = format.crs.geographic
      ? [[1024, 2], [1025, rasterType], [2048, format.crs.epsg], [2054, 9102]]
      : [[1024, 1], [1025, rasterType], [3072, format.crs.epsg]];
    entries.push({ tag: 34735, type: SHORT, values: [1, 1, 0, keys.length, ...keys.flatMap(([id, v]) => [id, 0, 1, v])] });
  }
  if (format.nodata !== undefined) {
    const text = typeof format.nodata === 'number' && Number.isNaN(format.nodata) ? 'nan' : String(format.nodata);
    entries.push({ tag: 42113, type: ASCII, values: `${text}\0` });
  }
  return entries.sort((a, b) => a.tag - b.tag);
}

/** Where the first block goes: after the 8-byte header and the IFD at offset 8 (sizes do not depend on offsets). */
export function firstBlockOffset(layout: GeoTiffLayout): number {
  const zeros = new Array<number>(layout.blockCount).fill(0);
  return 8 + ifdSize(geoTiffEntries(layout, zeros, zeros));
}

/** TIFF predictors, applied in place to one uncompressed block (rows of width × samples values). */
function applyPredictor(raw: Uint8Array, predictor: number, width: number, rows: number, samples: number, bytes: number): void {
  if (predictor === 1) return;
  const rowValues = width * samples;
  for (let y = 0; y < rows; y++) {
    if (predictor === 2) {
      const start = raw.byteOffset + y * rowValues * bytes;
      const row =
        bytes === 1
          ? new Uint8Array(raw.buffer, start, rowValues)
          : bytes === 2
            ? new Uint16Array(raw.buffer, start, rowValues)
            : new Uint32Array(raw.buffer, start, rowValues);
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
