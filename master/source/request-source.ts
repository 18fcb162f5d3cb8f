/**
 * Opens a request's input as a BandSet: named band files (Sentinel-2), or a box of an EarthDaily
 * mosaic; with what the manifest says about it (inputs without URL secrets, the box and level).
 */
import type { BandInput, MosaicJob } from '../../shared/types.js';
import { withoutQuery } from '../../shared/urls.js';
import type { Manifest } from '../output/manifest.js';
import { openBandSet, type BandSet } from './band-set.js';
import { openEarthDailyBandSet } from './earthdaily-source.js';
import { httpTiffOpener } from './geotiff-opener.js';
import { checkPixelLimit } from './pixel-limit.js';

/** An opened input, with what the manifest says about it. */
export interface OpenedSource {
  readonly bandSet: BandSet;
  readonly inputs: readonly BandInput[];
  readonly earthdaily?: Manifest['earthdaily'];
}

export interface SourceLimits {
  readonly maxBboxDeg: number;
  /** Largest output grid (width × height) of any request. */
  readonly maxRequestPixels: number;
  /** Read timeout of every remote range request (default DEFAULT_READ_TIMEOUT_MS). */
  readonly readTimeoutMs?: number | undefined;
}

export async function openRequestSource(job: MosaicJob, limits: SourceLimits, signal: AbortSignal): Promise<OpenedSource> {
  const open = httpTiffOpener(limits.readTimeoutMs === undefined ? {} : { readTimeoutMs: limits.readTimeoutMs });
  if (job.source === 'sentinel2') {
    const bandSet = await openBandSet(job.bands, { open, signal });
    try {
      checkPixelLimit(bandSet.grid, limits.maxRequestPixels, `the bands' common grid (${job.bands.map((band) => band.name).join(', ')})`);
    } catch (error) {
      await bandSet.close();
      throw error;
    }
    return { bandSet, inputs: job.bands.map((band) => ({ ...band, uri: withoutQuery(band.uri) })) };
  }
  const bandSet = await openEarthDailyBandSet(
    { url: job.url, bbox: job.bbox, resolution: job.resolution, bands: job.bands },
    { maxBboxDeg: limits.maxBboxDeg, maxPixels: limits.maxRequestPixels, open, signal },
  );
  return {
    bandSet,
    inputs: job.bands.map((band) => ({ ...band, uri: bandSet.sourceUrl })),
    earthdaily: {
      box: job.bbox,
      resolution: job.resolution,
      sourceUrl: bandSet.sourceUrl,
      overview: bandSet.overview,
      outputGrid: `north-up, in the mosaic's own CRS (EPSG:${bandSet.grid.epsg}), ${job.resolution} m pixels`,
    },
  };
}
