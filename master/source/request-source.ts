/**
 * Opens a request's input as a BandSet: named band files (Sentinel-2), a box of an EarthDaily
 * mosaic, or the band assets of a STAC item; with what the manifest says about it (inputs without
 * URL secrets, the box and level, the item and the offset it implied) and the job as it runs (a
 * STAC item may set the reflectance offset).
 */
import { SCL_BAND, type BandInput, type EarthDailyJob, type MosaicJob, type Sentinel2Job, type StacJob } from '../../shared/types.js';
import { withoutQuery } from '../../shared/urls.js';
import type { Manifest } from '../output/manifest.js';
import { openBandSet, type BandSet } from './band-set.js';
import { openEarthDailyBandSet } from './earthdaily-source.js';
import { DEFAULT_READ_TIMEOUT_MS, httpTiffOpener, type TiffOpener } from './geotiff-opener.js';
import { checkPixelLimit } from './pixel-limit.js';
import { hasStacBand, resolveOffset, resolveStacBands, type StacAsset } from './stac-item.js';
import { loadStacItem } from './stac-loader.js';

/** An opened input, with what the manifest says about it. */
export interface OpenedSource {
  readonly bandSet: BandSet;
  /** The job as it runs: the request's, with a STAC item's offset filled in. */
  readonly job: MosaicJob;
  readonly inputs: readonly BandInput[];
  readonly earthdaily?: Manifest['earthdaily'];
  readonly stac?: Manifest['stac'];
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
  switch (job.source) {
    case 'sentinel2':
      return { ...(await openBandFiles(job.bands, limits, open, signal)), job };
    case 'earthdaily':
      return openEarthDaily(job, limits, open, signal);
    case 'stac':
      return openStacItem(job, limits, open, signal);
  }
}

async function openBandFiles(bands: Sentinel2Job['bands'], limits: SourceLimits, open: TiffOpener, signal: AbortSignal): Promise<Pick<OpenedSource, 'bandSet' | 'inputs'>> {
  const bandSet = await openBandSet(bands, { open, signal });
  try {
    checkPixelLimit(bandSet.grid, limits.maxRequestPixels, `the bands' common grid (${bands.map((band) => band.name).join(', ')})`);
  } catch (error) {
    await bandSet.close();
    throw error;
  }
  return { bandSet, inputs: bands.map((band) => ({ ...band, uri: withoutQuery(band.uri) })) };
}

async function openEarthDaily(job: EarthDailyJob, limits: SourceLimits, open: TiffOpener, signal: AbortSignal): Promise<OpenedSource> {
  const bandSet = await openEarthDailyBandSet(
    { url: job.url, bbox: job.bbox, resolution: job.resolution, bands: job.bands, indices: job.indices, expression: job.expression },
    { maxBboxDeg: limits.maxBboxDeg, maxPixels: limits.maxRequestPixels, open, signal },
  );
  return {
    bandSet,
    job,
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

/**
 * Reads the item, finds each band's asset and the offset, then opens the assets as band files. With
 * the mask on, the scl asset too: when the item has none, masking is off, unless the request named
 * classes (then the missing asset fails it). The scl asset has no say in the offset.
 */
async function openStacItem(job: StacJob, limits: SourceLimits, open: TiffOpener, signal: AbortSignal): Promise<OpenedSource> {
  const item = await loadStacItem(job.url, { signal, readTimeoutMs: limits.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS });
  const assets = resolveStacBands(item, job.bandNames);
  const offset = resolveOffset(item, [...assets.values()], job.offsetGiven ? job.reflectanceOffset : undefined);
  const scl = job.mask && (job.mask.required || hasStacBand(item, SCL_BAND)) ? resolveStacBands(item, [SCL_BAND]) : new Map<typeof SCL_BAND, StacAsset>();
  const bands = [...assets, ...scl].map(([name, asset]) => ({ name, uri: asset.href, band: 1 }));
  const opened = await openBandFiles(bands, limits, open, signal);
  const { mask, ...rest } = job;
  return {
    ...opened,
    job: { ...rest, ...(mask && scl.size > 0 ? { mask } : {}), reflectanceOffset: offset.value },
    stac: { itemUrl: withoutQuery(job.url), ...item.summary, offset },
  };
}
