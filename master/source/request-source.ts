/**
 * Opens a request's input as a BandSet: named band files (Sentinel-2), or a box of an EarthDaily
 * mosaic; with what the manifest says about it (inputs without URL secrets, the box and level).
 */
import type { BandInput, MosaicJob } from '../../shared/types.js';
import { withoutQuery } from '../../shared/urls.js';
import type { Manifest } from '../output/manifest.js';
import { openBandSet, type BandSet } from './band-set.js';
import { openEarthDailyBandSet } from './earthdaily-source.js';

/** An opened input, with what the manifest says about it. */
export interface OpenedSource {
  readonly bandSet: BandSet;
  readonly inputs: readonly BandInput[];
  readonly earthdaily?: Manifest['earthdaily'];
}

export interface SourceLimits {
  readonly maxBboxDeg: number;
  readonly maxRequestPixels: number;
}

export async function openRequestSource(job: MosaicJob, limits: SourceLimits, signal: AbortSignal): Promise<OpenedSource> {
  if (job.source === 'sentinel2') {
    const bandSet = await openBandSet(job.bands, { signal });
    return { bandSet, inputs: job.bands.map((band) => ({ ...band, uri: withoutQuery(band.uri) })) };
  }
  const bandSet = await openEarthDailyBandSet(
    { url: job.url, bbox: job.bbox, resolution: job.resolution, bands: job.bands },
    { maxBboxDeg: limits.maxBboxDeg, maxPixels: limits.maxRequestPixels, signal },
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
