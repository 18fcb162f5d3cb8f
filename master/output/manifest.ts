/**
 * The mosaic manifest: what a finished request produced and how (inputs, grid, CRS, statistics, tiles,
 * timings), written as JSON next to the mosaics. Written atomically: temp file in the same folder, then
 * rename, so a reader never sees half a manifest.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import type { BandInput, BoundingBox, IndexName, IndexStats, OutputFormat, SourceKind, StripDeflate } from '../../shared/types.js';
import type { GridBounds, OutputGrid } from './georeference.js';
import type { VerificationSummary } from '../verification-tally.js';

/** Summary of one index over the whole mosaic; min/mean/max are null when no pixel is valid. */
export interface ManifestIndexStats {
  readonly validPixels: number;
  readonly min: number | null;
  readonly mean: number | null;
  readonly max: number | null;
  /** With SCL masking: the pixels the mask made no-data (not counted in validPixels). */
  readonly maskedPixels?: number;
}

export interface Manifest {
  readonly requestId: string;
  readonly source: SourceKind;
  /** The bands read: file or URL (never with its query string) and band number. */
  readonly inputs: readonly BandInput[];
  /** earthdaily requests: the box asked for and how it was read. */
  readonly earthdaily?: {
    readonly box: BoundingBox;
    readonly resolution: number;
    /** The mosaic URL without its query string (a signature is a secret). */
    readonly sourceUrl: string;
    /** 0: full resolution; n: the n-th internal overview, the coarsest as fine as the resolution asked for. */
    readonly overview: number;
    /** Which grid the outputs are on. */
    readonly outputGrid: string;
  };
  /** stac requests: the item (its URL without the query) and the offset it implied, with why. */
  readonly stac?: {
    readonly itemUrl: string;
    readonly id: string;
    readonly datetime: string | null;
    readonly platform: string | null;
    readonly processingBaseline: string | null;
    readonly offset: { readonly value: number; readonly source: string; readonly reason: string };
  };
  /** What reading remote inputs cost (0 for local files). */
  readonly fetched: { readonly requests: number; readonly bytes: number };
  readonly indices: readonly IndexName[];
  /** The files published per index: png, cog or both. */
  readonly formats: readonly OutputFormat[];
  /** Format cog: how each `<index>.tif` is made (the same for every index). */
  readonly cog?: ManifestCog;
  /** The request's own band math (output `expr`): its text, the bands it read, and [lo, hi] mapped onto codes 1…255. */
  readonly expression?: { readonly text: string; readonly bands: readonly string[]; readonly range: readonly [lo: number, hi: number] };
  /** SCL cloud masking, when it was on: the band, the classes masked, and how many output pixels they covered. */
  readonly mask?: { readonly band: string; readonly classes: readonly number[]; readonly maskedPixels: number };
  readonly crs: { readonly epsg: number; readonly wkt: string };
  readonly grid: OutputGrid;
  readonly bounds: GridBounds;
  readonly stats: Partial<Record<IndexName, ManifestIndexStats>>;
  /** The tiles (full-width strips) and what moved: source data shipped, PNG strips received, results held back. */
  readonly tiles: {
    readonly total: number;
    readonly rowsPerStrip: number;
    /** What the workers compressed the strips with (STRIP_DEFLATE). */
    readonly stripDeflate: StripDeflate;
    readonly byWorker: Readonly<Record<string, number>>;
    /** Source data streamed to workers (compressed blocks or decoded windows), every hand-out that read it. */
    readonly payloadBytes: number;
    /** Source data the workers read from the input files themselves instead (DIRECT_READS), by their account. */
    readonly directReadBytes: number;
    /** Stitchable PNG strips in the accepted results. */
    readonly resultBytes: number;
    /** Of resultBytes, those the workers left as files in the master's folder (DIRECT_WRITES) instead of sending them. */
    readonly resultFileBytes: number;
    /** Most bytes of early results the master held in memory at once, and how many it spilled to disk. */
    readonly peakBufferedBytes: number;
    readonly spilledStrips: number;
    /** Strips taken over from a crashed master's checkpoint instead of computed again. */
    readonly resumedStrips: number;
  };
  /** What verifying the workers' answers found (VERIFY_FRACTION > 0 only): per worker, verified, outvoted, unchecked, banned. */
  readonly verification?: VerificationSummary;
  /** The web previews, by index (absent: none was written, e.g. the workers sent no preview copy). */
  readonly preview?: Partial<Record<IndexName, ManifestPreview>>;
  /** Durations in milliseconds, by phase name. */
  readonly timings: Readonly<Record<string, number>>;
  /** ISO 8601. */
  readonly createdAt: string;
}

/**
 * A small web preview of one index's colour mosaic (<index>_preview.png beside it): at most 2048 px
 * on its long side, reprojected to Web Mercator, RGBA with no-data transparent, coloured with the
 * index's ramp. `latLngBounds` are its outer edges, so that Leaflet's
 * `L.imageOverlay(url, latLngBounds)` lands it where it belongs.
 */
export interface ManifestPreview {
  /** The file name, in the request's folder. */
  readonly file: string;
  readonly width: number;
  readonly height: number;
  readonly crs: 'EPSG:3857';
  /** [[south, west], [north, east]], WGS84 degrees. */
  readonly latLngBounds: readonly [readonly [south: number, west: number], readonly [north: number, east: number]];
}

/** A request's COGs: uint8 codes, no-data 0, DEFLATE without predictor, square tiles, overviews by nearest neighbour. */
export interface ManifestCog {
  /** File names, by index, in the request's folder. */
  readonly files: Partial<Record<IndexName, string>>;
  readonly tileSize: number;
  readonly compression: 'deflate';
  readonly nodata: 0;
  /** The overviews' sizes, largest first ([width, height]); decimated from full resolution by 2, 4, … */
  readonly overviews: readonly (readonly [number, number])[];
  readonly resampling: 'nearest';
}

/** Mosaic-wide IndexStats (e.g. merged with mergeIndexStats) → the manifest's summary; `masked`: with the masked count. */
export function summariseIndexStats(stats: IndexStats, masked = false): ManifestIndexStats {
  const maskedPixels = masked ? { maskedPixels: Number(stats.maskedPixels ?? 0) } : {};
  if (stats.validPixels === 0) return { validPixels: 0, min: null, mean: null, max: null, ...maskedPixels };
  return { validPixels: stats.validPixels, min: stats.min, mean: stats.sum / stats.validPixels, max: stats.max, ...maskedPixels };
}

/** Write the manifest as pretty JSON at `path`, atomically (temp file + rename). Creates the folder. */
export async function writeManifest(path: string, manifest: Manifest): Promise<void> {
  const folder = dirname(path);
  await mkdir(folder, { recursive: true });
  const temp = join(folder, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temp, `${JSON.stringify(manifest, null, 2)}\n`, { flush: true });
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
