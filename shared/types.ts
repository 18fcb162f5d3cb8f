/**
 * Domain types shared by the master, the workers and the CLI. Wire types live in
 * shared/proto/generated (generated from proto/tessera.proto); these are the ones we own.
 */

/** STAC common names of the bands tessera reads. */
export const BAND_NAMES = ['red', 'nir', 'green', 'swir16', 'swir22', 'blue'] as const;
export type BandName = (typeof BAND_NAMES)[number];

/** The Sentinel-2 Scene Classification band (20 m, uint8 classes), read only to mask pixels. */
export const SCL_BAND = 'scl';
/** A band a request may read: a STAC common name, or the scene classification. */
export type SourceBandName = BandName | typeof SCL_BAND;

/** The built-in indices, each with its formula in INDEX_FORMULAS. */
export const INDEX_NAMES = ['ndvi', 'ndsi', 'ndwi', 'ndmi', 'nbr', 'savi', 'evi'] as const;
export type BuiltInIndex = (typeof INDEX_NAMES)[number];
/** The output of a request's own `expression` (its formula comes with the request). */
export const EXPRESSION_INDEX = 'expr';
/** An output of a request: a built-in index, or `expr`. */
export type IndexName = BuiltInIndex | typeof EXPRESSION_INDEX;
export const OUTPUT_NAMES: readonly IndexName[] = [...INDEX_NAMES, EXPRESSION_INDEX];

/**
 * How an index is computed, on reflectance ρ = (DN + offset) / 10000, and mapped from [−1, 1] onto
 * the codes 1…255. Most are a normalised difference (a − b) / (a + b), which has a kernel of its own;
 * SAVI and EVI are expressions (shared/expression) over the bands they name.
 */
export type IndexFormula =
  | { readonly kind: 'normalised-difference'; readonly a: BandName; readonly b: BandName }
  | { readonly kind: 'expression'; readonly text: string; readonly bands: readonly BandName[] };

/**
 * NDVI = (nir − red) / (nir + red) (vegetation), NDSI = (green − swir16) / (green + swir16) (snow),
 * NDWI = (green − nir) / (green + nir) (open water, McFeeters), NDMI = (nir − swir16) / (nir + swir16)
 * (moisture), NBR = (nir − swir22) / (nir + swir22) (burn ratio), SAVI = 1.5 (nir − red) / (nir + red
 * + 0.5) (soil-adjusted, L = 0.5), EVI = 2.5 (nir − red) / (nir + 6 red − 7.5 blue + 1).
 */
export const INDEX_FORMULAS: Readonly<Record<BuiltInIndex, IndexFormula>> = {
  ndvi: { kind: 'normalised-difference', a: 'nir', b: 'red' },
  ndsi: { kind: 'normalised-difference', a: 'green', b: 'swir16' },
  ndwi: { kind: 'normalised-difference', a: 'green', b: 'nir' },
  ndmi: { kind: 'normalised-difference', a: 'nir', b: 'swir16' },
  nbr: { kind: 'normalised-difference', a: 'nir', b: 'swir22' },
  savi: { kind: 'expression', text: '1.5 * (nir - red) / (nir + red + 0.5)', bands: ['nir', 'red'] },
  evi: { kind: 'expression', text: '2.5 * (nir - red) / (nir + 6 * red - 7.5 * blue + 1)', bands: ['nir', 'red', 'blue'] },
};

/** The bands each index reads. */
export const INDEX_BANDS: Readonly<Record<BuiltInIndex, readonly BandName[]>> = Object.fromEntries(
  INDEX_NAMES.map((index) => {
    const formula = INDEX_FORMULAS[index];
    return [index, formula.kind === 'normalised-difference' ? [formula.a, formula.b] : formula.bands];
  }),
) as Record<BuiltInIndex, readonly BandName[]>;

export const SOURCE_KINDS = ['sentinel2', 'earthdaily', 'stac'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

/** What a request may ask its mosaics as: stitched PNGs (the default) and/or a Cloud-Optimized GeoTIFF per index. */
export const OUTPUT_FORMATS = ['png', 'cog'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const REQUEST_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

/** One band of a request: a GeoTIFF (local path or http(s) URL) and the 1-based band number in it. */
export interface BandInput {
  readonly name: SourceBandName;
  readonly uri: string;
  readonly band: number;
}

/** A value range mapped onto the codes 1…255: code = 1 + round((clamp(v, min, max) − min) / (max − min) · 254). */
export interface ValueRange {
  readonly min: number;
  readonly max: number;
}

/** A request's own band math (the `expr` output): its text, the bands it reads, the range its codes span. */
export interface CustomExpression {
  readonly text: string;
  readonly bands: readonly BandName[];
  readonly range: ValueRange;
}

/**
 * SCL classes masked when a request names none: 0 no data, 1 saturated or defective, 3 cloud shadow,
 * 8 cloud (medium probability), 9 cloud (high probability), 10 thin cirrus. 11 (snow) is kept: NDSI needs it.
 */
export const DEFAULT_MASK_CLASSES: readonly number[] = [0, 1, 3, 8, 9, 10];

/** The SCL classes whose pixels become no-data (code 0) in every index. */
export interface SclMask {
  readonly classes: readonly number[];
  /** The request named the classes (mask_classes): the scl band must then be there. */
  readonly required: boolean;
}

/** What every validated request has, whatever its source. */
interface JobBase {
  readonly id: string;
  /** The outputs, `expr` (last) when the request has an expression. */
  readonly indices: readonly IndexName[];
  /** Absent: none. */
  readonly expression?: CustomExpression;
  /** Absent: no masking (turned off, or no scl band to mask by). */
  readonly mask?: SclMask;
  readonly reflectanceOffset: number;
  /** Rows per strip asked for by the request (before alignment to source blocks); undefined: the pixel budget decides. */
  readonly stripRows: number | undefined;
  /** The files published per index: 'png' (the PNGs and their sidecars), 'cog' (`<index>.tif`), or both. */
  readonly formats: readonly OutputFormat[];
}

/** A Sentinel-2 scene: one GeoTIFF (or band of one) per named band. */
export interface Sentinel2Job extends JobBase {
  readonly source: 'sentinel2';
  readonly bands: readonly BandInput[];
}

/** A box of WGS84 degrees given by its upper-left and lower-right corners. */
export interface BoundingBox {
  readonly ulLat: number;
  readonly ulLng: number;
  readonly lrLat: number;
  readonly lrLng: number;
}

/** A box cut out of an EarthDaily mosaic (one multi-band cloud-optimized GeoTIFF). */
export interface EarthDailyJob extends JobBase {
  readonly source: 'earthdaily';
  /** The mosaic; may be a signed URL. Never shown with its query string. */
  readonly url: string;
  readonly bbox: BoundingBox;
  /** Output pixel size in metres. */
  readonly resolution: number;
  /** The bands the indices need, with their 1-based band numbers in the mosaic. */
  readonly bands: readonly { readonly name: BandName; readonly band: number }[];
}

/**
 * A STAC item whose assets hold the bands. Until the item is read, `reflectanceOffset` is the
 * request's own (or 0); the master replaces it with the item's when `offsetGiven` is false.
 */
export interface StacJob extends JobBase {
  readonly source: 'stac';
  /** The item: an http(s) URL (may be signed) or a local path to its JSON. */
  readonly url: string;
  /** The bands the indices need, to be found among the item's assets (scl: found by the master when `mask` is set). */
  readonly bandNames: readonly BandName[];
  /** Whether the request gave reflectance_offset (then it wins over the item). */
  readonly offsetGiven: boolean;
}

/** A validated request, as the master processes it. */
export type MosaicJob = Sentinel2Job | EarthDailyJob | StacJob;

/** Sample types a GeoTIFF band may have, as named on the wire. */
export const SAMPLE_TYPES = ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'float64'] as const;
export type SampleType = (typeof SAMPLE_TYPES)[number];

/** Bytes per value of each sample type. */
export const SAMPLE_BYTES: Readonly<Record<SampleType, number>> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  float64: 8,
};

/** The typed array of each sample type. */
export const SAMPLE_ARRAYS = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
} as const;

export type SampleArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array;

/** Summary of one index over a tile or a whole mosaic (index values, not 8-bit codes). */
export interface IndexStats {
  validPixels: number;
  min: number;
  max: number;
  sum: number;
  /** Pixels made no-data by the SCL mask (absent or 0 when nothing was masked). */
  maskedPixels?: number;
}

/** Per-tile worker timings, in milliseconds. */
export interface TileTimings {
  /** Receiving and decoding the source data (receiveMs included). */
  decodeMs: number;
  computeMs: number;
  encodeMs: number;
  /** Of decodeMs: waiting for source data to arrive. */
  receiveMs: number;
  /** CPU time of the worker process (all its threads, zlib's included) spent on the tile. */
  cpuMs: number;
}

/**
 * How a strip's rows are compressed (shared/png/strip-deflater.ts): node:zlib level 1 with Z_RLE, or
 * ISA-L level 1. A task names one (an empty name, from an older master, means zlib).
 */
export const STRIP_DEFLATES = ['zlib', 'isal'] as const;
export type StripDeflate = (typeof STRIP_DEFLATES)[number];
