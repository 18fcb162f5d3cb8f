/**
 * One strip as a worker sees it, and its answer as the master checks it: the task (the grid's width,
 * the strip's rows, the indices, the compression, the job's computation, where its sources are, the
 * preview sampling and the COG piece geometry when asked for), and every check a result passes
 * before a byte of it is stitched (strip-result-check.ts, cog-result-check.ts, the preview's size).
 * A failed check is the worker's fault: a RejectedResultError.
 */
import type { Crc32 } from '../shared/checksum.js';
import { describeError } from '../shared/errors.js';
import type { SubmitResultRequest__Output, TileTask } from '../shared/proto/tile-service.js';
import type { IndexName, MosaicJob, StripDeflate } from '../shared/types.js';
import { RejectedResultError } from './dispatch/tile-dispatcher.js';
import type { PreviewGrid } from './output/preview-grid.js';
import type { OutputGrid } from './output/georeference.js';
import type { PlannedStrip } from './source/strip-plan.js';
import type { StripSources } from './source/strip-reader.js';
import { checkCogResult, type CheckedCog } from './cog-result-check.js';
import { checkStripResult, type CheckedStrip } from './strip-result-check.js';
import { jobTaskFields } from './task-fields.js';

/** What every strip of a run shares. */
export interface StripTaskContext {
  readonly job: MosaicJob;
  readonly grid: Pick<OutputGrid, 'width' | 'height'>;
  /** What workers compress the strips with. */
  readonly stripDeflate: StripDeflate;
  /** Where the web preview's samples go; absent: none asked for. */
  readonly preview?: PreviewGrid | undefined;
  /** What checks the results' PNG chunk CRCs; absent: node:zlib's. */
  readonly crc32?: Crc32 | undefined;
}

/** A checked result on its way into the mosaic (and its preview samples, when a preview is made). */
export interface CheckedAnswer {
  readonly result: SubmitResultRequest__Output;
  readonly parsed: CheckedStrip;
  readonly cog: CheckedCog;
  readonly previews: Map<IndexName, Uint8Array> | undefined;
}

/** The task for `strip`, whose sources `sources` describes. */
export function stripTask(context: StripTaskContext, strip: PlannedStrip, sources: Pick<StripSources, 'sources' | 'bands' | 'bytes'>): TileTask {
  const { job, grid } = context;
  return {
    width: grid.width,
    height: strip.rows,
    indices: [...job.indices],
    stripDeflate: context.stripDeflate,
    ...jobTaskFields(job),
    sources: sources.sources,
    bands: sources.bands,
    sourceBytes: sources.bytes,
    ...previewFields(context.preview, strip),
    ...(wantsCog(job) ? { cog: { stripTop: strip.top, gridHeight: grid.height } } : {}),
  };
}

/** `result` checked against `strip`; a RejectedResultError for anything that does not fit. */
export function checkAnswer(context: StripTaskContext, strip: PlannedStrip, result: SubmitResultRequest__Output): CheckedAnswer {
  const { job, grid } = context;
  const parsed = checkStripResult(result, strip, grid.width, job.indices, context.crc32);
  const cog = checkCogResult(result, strip, grid, wantsCog(job));
  const previews = checkPreview(context.preview, strip, result);
  return { result, parsed, cog, previews };
}

function wantsCog(job: MosaicJob): boolean {
  return job.formats.includes('cog');
}

/** The task fields asking a worker for the strip's preview sample (none without a preview). */
function previewFields(preview: PreviewGrid | undefined, strip: PlannedStrip): { previewStep: number; previewFirstRow: number } | Record<string, never> {
  if (!preview) return {};
  const sampling = preview.sampling(strip.top);
  return { previewStep: sampling.step, previewFirstRow: sampling.firstRow };
}

/** The result's preview samples, checked for size (a wrong one is the worker's fault); undefined without a preview. */
function checkPreview(preview: PreviewGrid | undefined, strip: PlannedStrip, result: SubmitResultRequest__Output): Map<IndexName, Uint8Array> | undefined {
  try {
    return preview?.check(strip, result.tiles);
  } catch (error) {
    throw new RejectedResultError(`strip ${strip.index}: ${describeError(error)}`, { cause: error });
  }
}
