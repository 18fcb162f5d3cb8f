/**
 * Feeds one request's strips through the dispatcher and their results into the mosaic writer: at
 * most `maxInflight` strips out at once; each strip's task is described when its turn comes and
 * its source data read only while a worker streams it; each result is checked against its strip
 * before a byte of it is stitched. The first failure (a tile out of attempts, the master's own I/O,
 * a stop) withdraws the rest.
 */
import PQueue from 'p-queue';
import { performance } from 'node:perf_hooks';
import { TesseraError, describeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { parseStripPng, type StripData } from '../shared/png/strip-png.js';
import type { MessageMemory } from '../shared/proto/source-chunk-wire.js';
import type { SourceChunk, SubmitResultRequest__Output } from '../shared/proto/tile-service.js';
import type { IndexName, MosaicJob } from '../shared/types.js';
import type { ClaimGuard } from './claim-guard.js';
import type { RequestStore } from './store/request-store.js';
import { RejectedResultError, type TileDispatcher } from './dispatch/tile-dispatcher.js';
import type { StripMosaicWriter } from './output/strip-mosaic-writer.js';
import type { PreviewGrid } from './output/preview-grid.js';
import type { RunTally } from './run-tally.js';
import type { BandSet } from './source/band-set.js';
import type { PlannedStrip } from './source/strip-plan.js';
import { describeStrip } from './source/strip-reader.js';

/** Thrown inside a run when the master is stopping; the request goes back to `pending`. */
export class StopRequested extends TesseraError {}

export interface StripPipelineOptions {
  readonly job: MosaicJob;
  readonly bandSet: Pick<BandSet, 'grid' | 'bands'>;
  readonly strips: readonly PlannedStrip[];
  readonly writer: StripMosaicWriter;
  readonly tally: RunTally;
  readonly dispatcher: TileDispatcher;
  readonly store: RequestStore;
  /** The run's claim on the request: progress is recorded under it, and a lost claim stops the run. */
  readonly guard: ClaimGuard;
  readonly maxInflight: number;
  /** Strips above this one are in the mosaic already (a resumed run): they are not sent out again. */
  readonly firstStrip?: number;
  /** Called after each strip is accepted (the run's checkpointer). */
  readonly onStripDone?: () => void;
  /** Where the web preview's samples go (workers are asked for them); absent: no preview. */
  readonly preview?: PreviewGrid | undefined;
  /** Where the chunk messages of local blocks get their memory (reused once sent). */
  readonly messageMemory?: MessageMemory | undefined;
  readonly signal: AbortSignal;
  readonly log: Logger;
}

const PROGRESS_EVERY_MS = 250;

export async function runStripPipeline(options: StripPipelineOptions): Promise<void> {
  const { job, dispatcher, signal, tally } = options;
  const queue = new PQueue({ concurrency: options.maxInflight });
  const failed = new AbortController();
  let firstError: unknown;
  const fail = (error: unknown): void => {
    if (firstError !== undefined) return;
    firstError = error;
    failed.abort();
    dispatcher.cancelRequest(job.id, error instanceof Error ? error : new Error(String(error)));
  };
  // Stopping the master, or a lost claim (the guard aborts with its ClaimLostError).
  const onStop = (): void => fail(signal.reason instanceof TesseraError ? signal.reason : new StopRequested('master stopping'));
  signal.addEventListener('abort', onStop, { once: true });
  if (signal.aborted) onStop();
  const progress = progressReporter(options);

  const runStrip = async (strip: PlannedStrip): Promise<void> => {
    if (failed.signal.aborted) return;
    const sources = await describeStrip(options.bandSet, strip, { memory: options.messageMemory });
    if (failed.signal.aborted) return;
    const outcome = await dispatcher.dispatch({
      requestId: job.id,
      claim: options.guard.claim.attempt,
      tileIndex: strip.index,
      task: {
        width: options.bandSet.grid.width,
        height: strip.rows,
        indices: [...job.indices],
        reflectanceOffset: job.reflectanceOffset,
        sources: sources.sources,
        bands: sources.bands,
        sourceBytes: sources.bytes,
        ...previewFields(options.preview, strip),
      },
      sources: (streamSignal) => metered(sources.chunks(AbortSignal.any([streamSignal, failed.signal])), tally),
      accept: (result) => acceptResult(options, strip, result),
    });
    tally.countTile(outcome.workerId);
    options.onStripDone?.();
    progress(false);
  };

  try {
    for (const strip of options.strips.slice(options.firstStrip ?? 0)) queue.add(() => runStrip(strip)).catch(fail);
    await queue.onIdle();
  } finally {
    signal.removeEventListener('abort', onStop);
  }
  if (firstError !== undefined) throw firstError;
  progress(true);
}

/** Checks a result against its strip, then stitches it; a wrong result is the worker's fault. */
async function acceptResult(options: StripPipelineOptions, strip: PlannedStrip, result: SubmitResultRequest__Output): Promise<void> {
  const started = performance.now();
  const { job, writer, tally, bandSet } = options;
  const parsed = new Map<IndexName, StripData>();
  let previews: Map<IndexName, Uint8Array> | undefined;
  try {
    for (const tile of result.tiles) {
      const index = tile.index as IndexName;
      if (!job.indices.includes(index)) throw new TesseraError(`unexpected index "${tile.index}" in result`);
      if (parsed.has(index)) throw new TesseraError(`index "${tile.index}" returned twice`);
      const pixels = bandSet.grid.width * strip.rows;
      const most = maxStripPngBytes(bandSet.grid.width, strip.rows);
      if (tile.png.length > most) throw new TesseraError(`${tile.index}: a ${tile.png.length}-byte PNG for a strip whose PNG cannot exceed ${most} bytes`);
      if ((tile.stats?.validPixels ?? 0) > pixels) throw new TesseraError(`${tile.index}: ${tile.stats?.validPixels} valid pixels in a strip of ${pixels}`);
      parsed.set(index, parseStripPng(tile.png, { width: bandSet.grid.width, rows: strip.rows }));
    }
    const missing = job.indices.filter((index) => !parsed.has(index));
    if (missing.length > 0) throw new TesseraError(`result lacks ${missing.join(', ')}`);
    previews = options.preview?.check(strip, result.tiles);
  } catch (error) {
    throw new RejectedResultError(`strip ${strip.index}: ${describeError(error)}`, { cause: error });
  }
  // From here on a failure is the master's own (its disk), not the worker's. The tally first: a
  // checkpoint may cover the strip as soon as it is written.
  tally.addResult(strip.index, result);
  for (const [index, data] of parsed) await writer.addStrip(index, strip.index, data);
  if (previews) options.preview?.add(strip, previews);
  tally.stitchMs += performance.now() - started;
}

/** The task fields asking a worker for the strip's preview sample (none without a preview). */
function previewFields(preview: PreviewGrid | undefined, strip: PlannedStrip): { previewStep: number; previewFirstRow: number } | Record<string, never> {
  if (!preview) return {};
  const sampling = preview.sampling(strip.top);
  return { previewStep: sampling.step, previewFirstRow: sampling.firstRow };
}

/**
 * The largest PNG a strip can honestly be: its filtered rows stored uncompressed (DEFLATE's worst
 * case adds 5 bytes per 64 KiB) plus the chunks around them, with room to spare. Anything bigger is
 * refused before it is parsed or held.
 */
export function maxStripPngBytes(width: number, rows: number): number {
  const filtered = rows * (width + 1);
  return filtered + Math.ceil(filtered / 128) + 64 * 1024;
}

/** Counts the bytes and the master's read time of a source stream as a worker consumes it. */
async function* metered(chunks: AsyncIterable<SourceChunk>, tally: RunTally): AsyncGenerator<SourceChunk> {
  const iterator = chunks[Symbol.asyncIterator]();
  try {
    for (;;) {
      const started = performance.now();
      const next = await iterator.next();
      tally.readMs += performance.now() - started;
      if (next.done) return;
      tally.shippedBytes += next.value.data?.length ?? 0;
      yield next.value;
    }
  } finally {
    await iterator.return?.();
  }
}

/** Records tiles_done at most every PROGRESS_EVERY_MS (and once more at the end). */
function progressReporter({ store, guard, tally, log }: StripPipelineOptions): (force: boolean) => void {
  let last = 0;
  return (force) => {
    const now = performance.now();
    if (!force && now - last < PROGRESS_EVERY_MS) return;
    last = now;
    store.recordProgress(guard.claim, tally.tilesDone).then(
      (held) => guard.note(held, 'progress'),
      (error: unknown) => log.warn({ error: describeError(error) }, 'progress update failed'),
    );
  };
}
