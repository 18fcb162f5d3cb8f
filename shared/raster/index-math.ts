/**
 * The exact normalised-difference index math and its 8-bit encoding: turns two resampled bands of
 * digital numbers into index codes (1..255, 0 = no-data) plus statistics.
 *
 * Rules (see shared/domain.md): reflectance ρ = (DN + offset) / 10000 and index = (ρa − ρb) / (ρa + ρb),
 * in float32 (computed as the equal ratio of DN + offset, see below); code = 1 + round((clamp(index, −1, 1) + 1) × 127). A pixel is no-data
 * (code 0) when either band has no source pixel there, a sample equals its band's no-data value
 * (0 when the band declares none), or the denominator is not > 0.
 */
import { TesseraError } from '../errors.js';
import type { IndexStats, SampleArray } from '../types.js';
import type { DifferenceRows } from './difference-rows.js';
import { computeCodes, type IndexAccumulator, type KernelBand } from './index-kernels.js';

/** The code reserved for no-data pixels. */
export const NODATA_CODE = 0;

/** Map an index value to its 8-bit code, 1..255 (−1 → 1, 0 → 128, +1 → 255; clamped). NaN → 0 (no-data). */
export function indexToCode(value: number): number {
  if (Number.isNaN(value)) return NODATA_CODE;
  const clamped = value < -1 ? -1 : value > 1 ? 1 : value;
  return 1 + Math.round((clamped + 1) * 127);
}

/** The index value at the centre of a code's bin (1 → −1, 128 → 0, 255 → +1); NaN for code 0. */
export function codeToIndexValue(code: number): number {
  if (!Number.isInteger(code) || code < 1 || code > 255) return Number.NaN;
  return (code - 1) / 127 - 1;
}

/** One band resampled onto the output tile by lookup tables (nearest neighbour resolved by the master). */
export interface BandSamples {
  /** Row-major samples of the band's source window. */
  readonly values: SampleArray;
  /** Width of the source window in pixels (row stride of `values`). */
  readonly windowWidth: number;
  /** The band's no-data value (GDAL_NODATA); null means none declared, and then 0 counts as no-data. */
  readonly nodata: number | null;
  /** For each output column: the source column in the window, or −1 outside the band. */
  readonly columns: Int32Array;
  /** For each output row: the source row in the window, or −1 outside the band. */
  readonly rows: Int32Array;
}

export interface IndexTileInput {
  readonly width: number;
  readonly height: number;
  /** BOA_ADD_OFFSET: reflectance = (DN + offset) / 10000. */
  readonly reflectanceOffset: number;
  /** Minuend band (nir for NDVI, green for NDSI). */
  readonly a: BandSamples;
  /** Subtrahend band (red for NDVI, swir16 for NDSI). */
  readonly b: BandSamples;
  /** Where the codes go: width × height bytes, all 0 (reused memory); absent: a new array. */
  readonly codes?: Uint8Array;
  /** width × height: pixels where it is not 0 are no-data (the SCL mask), left out of the statistics. */
  readonly mask?: Uint8Array;
  /** The WebAssembly kernel for rows of 16-bit samples; absent, the JavaScript loops do all of it. */
  readonly differenceRows?: DifferenceRows;
}

export interface IndexTileResult {
  /** width × height codes, row-major. */
  readonly codes: Uint8Array;
  /**
   * Statistics of the float32 index over valid pixels (unclamped: with a negative reflectance offset an
   * index can leave [−1, 1]). With no valid pixel: validPixels 0 and min = max = sum = 0.
   */
  readonly stats: IndexStats;
}

/** Compute one index over a tile. Throws a TesseraError when the lookups do not fit the tile or window. */
export function computeIndexTile(input: IndexTileInput): IndexTileResult {
  const { width, height } = input;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new TesseraError(`index tile: invalid size ${width}x${height}`);
  }
  checkLookup('a', input.a, width, height);
  checkLookup('b', input.b, width, height);

  const codes = input.codes ?? new Uint8Array(width * height);
  if (codes.length !== width * height) throw new TesseraError(`index tile: ${codes.length} codes for ${width}x${height}`);
  const acc: IndexAccumulator = { valid: 0, sum: 0, min: Number.POSITIVE_INFINITY, max: Number.NEGATIVE_INFINITY };
  // ρ = (DN + offset) / 10000, but the common 1/10000 cancels in (ρa − ρb) / (ρa + ρb) (and leaves the
  // sign of the denominator alone), so the ratio is taken of (DN + offset) directly, in float32: two
  // float32 roundings fewer, and exact wherever the ratio is representable (nir 90, red 30 give exactly
  // 0.5, where dividing by 10000 first gives 0.49999997 and the code one lower). NaN samples fail the
  // denominator test; a NaN ratio (infinite samples) is no-data. See index-kernels.ts for the loops.
  if (input.mask !== undefined && input.mask.length !== width * height) throw new TesseraError(`index tile: a mask of ${input.mask.length} for ${width}x${height}`);
  computeCodes(width, height, input.reflectanceOffset, kernelBand(input.a), kernelBand(input.b), codes, acc, { mask: input.mask, differenceRows: input.differenceRows });
  const { valid, min, max, sum } = acc;

  const stats: IndexStats =
    valid === 0 ? { validPixels: 0, min: 0, max: 0, sum: 0 } : { validPixels: valid, min, max, sum };
  return { codes, stats };
}

/** Combine two IndexStats (either may be empty: validPixels 0, whose min/max are ignored); masked pixels add up. */
export function mergeIndexStats(x: IndexStats, y: IndexStats): IndexStats {
  const masked = Number(x.maskedPixels ?? 0) + Number(y.maskedPixels ?? 0);
  const withMasked = (stats: IndexStats): IndexStats => {
    const { validPixels, min, max, sum } = stats;
    return masked > 0 ? { validPixels, min, max, sum, maskedPixels: masked } : { validPixels, min, max, sum };
  };
  if (x.validPixels === 0) return withMasked(y);
  if (y.validPixels === 0) return withMasked(x);
  return withMasked({
    validPixels: x.validPixels + y.validPixels,
    min: Math.min(x.min, y.min),
    max: Math.max(x.max, y.max),
    sum: x.sum + y.sum,
  });
}

function kernelBand(band: BandSamples): KernelBand {
  return { values: band.values, windowWidth: band.windowWidth, nodata: effectiveNodata(band), columns: band.columns, rows: band.rows };
}

/** The value that marks no-data in a band, as its samples store it (NaN when no-data is NaN). */
function effectiveNodata(band: BandSamples): number {
  const nodata = band.nodata ?? 0;
  return band.values instanceof Float32Array ? Math.fround(nodata) : nodata;
}

/** Every lookup must be −1 or inside the band's window, so the inner loop never reads out of range. */
function checkLookup(name: string, band: BandSamples, width: number, height: number): void {
  const stride = band.windowWidth;
  if (!Number.isInteger(stride) || stride < 1) {
    throw new TesseraError(`index tile: band ${name} has invalid window width ${stride}`);
  }
  const windowHeight = Math.floor(band.values.length / stride);
  if (band.columns.length !== width || band.rows.length !== height) {
    throw new TesseraError(
      `index tile: band ${name} lookups are ${band.columns.length}x${band.rows.length}, tile is ${width}x${height}`,
    );
  }
  for (const column of band.columns) {
    if (column < -1 || column >= stride) {
      throw new TesseraError(`index tile: band ${name} column ${column} outside window width ${stride}`);
    }
  }
  for (const row of band.rows) {
    if (row < -1 || row >= windowHeight) {
      throw new TesseraError(`index tile: band ${name} row ${row} outside window height ${windowHeight}`);
    }
  }
}
