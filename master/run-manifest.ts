/**
 * The manifest of a finished run, from what the run knows at the end: the request and its opened
 * input, the grid and CRS, the tally of strips and bytes, what the writer held back, the previews
 * and verification counts, and the stage timings.
 */
import { COG_TILE, levelSizes } from '../shared/cog/cog-geometry.js';
import { SCL_BAND, type MosaicJob, type StripDeflate } from '../shared/types.js';
import { gridBounds } from './output/georeference.js';
import { summariseIndexStats, type Manifest } from './output/manifest.js';
import type { StripMosaicStats } from './output/strip-mosaic-writer.js';
import type { RunTally } from './run-tally.js';
import type { OpenedSource } from './source/request-source.js';
import type { PlannedStrip } from './source/strip-plan.js';
import type { VerificationSummary } from './verification-tally.js';

export interface RunManifestParts {
  readonly requestId: string;
  readonly job: MosaicJob;
  readonly source: OpenedSource;
  readonly wkt: string;
  readonly strips: readonly PlannedStrip[];
  readonly tally: RunTally;
  /** The writer's statistics once every strip is in. */
  readonly written: StripMosaicStats;
  readonly previews: Manifest['preview'];
  readonly verification: VerificationSummary | undefined;
  readonly timings: Readonly<Record<string, number>>;
  readonly stripDeflate: StripDeflate;
}

export function runManifest(parts: RunManifestParts): Manifest {
  const { job, source, tally, strips } = parts;
  const { bandSet } = source;
  return {
    requestId: parts.requestId,
    source: job.source,
    inputs: source.inputs,
    ...(source.earthdaily ? { earthdaily: source.earthdaily } : {}),
    ...(source.stac ? { stac: source.stac } : {}),
    fetched: bandSet.fetched(),
    indices: job.indices,
    formats: job.formats,
    ...(job.formats.includes('cog') ? { cog: cogSummary(job, bandSet.grid) } : {}),
    ...(job.expression ? { expression: { text: job.expression.text, bands: job.expression.bands, range: [job.expression.range.min, job.expression.range.max] as const } } : {}),
    crs: { epsg: bandSet.grid.epsg, wkt: parts.wkt },
    grid: bandSet.grid,
    bounds: gridBounds(bandSet.grid),
    ...(job.mask ? { mask: { band: SCL_BAND, classes: job.mask.classes, maskedPixels: maskedPixels(job, tally) } } : {}),
    stats: Object.fromEntries(job.indices.map((index) => [index, summariseIndexStats(tally.statsOf(index), job.mask !== undefined)])),
    tiles: {
      total: strips.length,
      rowsPerStrip: Math.max(...strips.map((strip) => strip.rows)),
      stripDeflate: parts.stripDeflate,
      byWorker: tally.workerTiles,
      payloadBytes: tally.shippedBytes,
      directReadBytes: tally.directReadBytes,
      resultBytes: tally.receivedBytes,
      resultFileBytes: tally.resultFileBytes,
      peakBufferedBytes: parts.written.peakBufferedBytes,
      spilledStrips: parts.written.spilledStrips,
      resumedStrips: tally.resumedStrips,
    },
    ...(parts.previews ? { preview: parts.previews } : {}),
    ...(parts.verification ? { verification: parts.verification } : {}),
    timings: parts.timings,
    createdAt: new Date().toISOString(),
  };
}

function cogSummary(job: MosaicJob, grid: { readonly width: number; readonly height: number }): NonNullable<Manifest['cog']> {
  return {
    files: Object.fromEntries(job.indices.map((index) => [index, `${index}.tif`])),
    tileSize: COG_TILE,
    compression: 'deflate',
    nodata: 0,
    overviews: levelSizes(grid.width, grid.height).slice(1).map((size) => [size.width, size.height] as const),
    resampling: 'nearest',
  };
}

/** The masked count of the mosaic (every index has the same; the first one's is taken). */
function maskedPixels(job: MosaicJob, tally: RunTally): number {
  const [first] = job.indices;
  return first === undefined ? 0 : Number(tally.statsOf(first).maskedPixels ?? 0);
}
