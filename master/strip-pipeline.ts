/**
 * Feeds one request's strips through the dispatcher and their results into the mosaic writer: at
 * most `maxInflight` strips out at once; each strip's task is described when its turn comes and
 * its source data read only while a worker streams it; each result is checked against its strip
 * before a byte of it is stitched (strip-task.ts). A sample of the strips (VERIFY_FRACTION)
 * is computed by two workers and compared (strip-verifier.ts); a worker caught in the minority is
 * banned from the run and the strips it computed unchecked are taken out of the mosaic and
 * computed again by others. The first failure (a tile out of attempts, the master's own I/O, a
 * disagreement nobody could decide, a stop) withdraws the rest.
 */
import PQueue from 'p-queue';
import { performance } from 'node:perf_hooks';
import type { Crc32 } from '../shared/checksum.js';
import { TesseraError, describeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { MessageMemory } from '../shared/proto/source-chunk-wire.js';
import type { SourceChunk } from '../shared/proto/tile-service.js';
import type { MosaicJob, StripDeflate } from '../shared/types.js';
import type { ClaimGuard } from './claim-guard.js';
import type { MasterEvents } from './master-events.js';
import type { RequestStore } from './store/request-store.js';
import { RejectedResultError, type TileDispatcher, type WorkerRef } from './dispatch/tile-dispatcher.js';
import type { StripMosaicWriter } from './output/strip-mosaic-writer.js';
import type { PreviewGrid } from './output/preview-grid.js';
import type { RunCheckpointer } from './run-checkpointer.js';
import type { RunTally } from './run-tally.js';
import type { BandSet } from './source/band-set.js';
import type { PlannedStrip } from './source/strip-plan.js';
import { describeStrip } from './source/strip-reader.js';
import { StitchGate } from './stitch-gate.js';
import { checkAnswer, stripTask, type CheckedAnswer, type StripTaskContext } from './strip-task.js';
import { StripVerifier, resultDigest, type StripWork } from './strip-verifier.js';
import { VerificationTally, type VerificationSummary } from './verification-tally.js';

export { maxStripPngBytes } from './strip-result-check.js';

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
  /** Takes strips back out of the mosaic with the checkpoint kept consistent; absent: the writer alone. */
  readonly checkpointer?: Pick<RunCheckpointer, 'dropStrips'>;
  /** Share of strips (0..1, VERIFY_FRACTION) computed by two workers and compared; absent or 0: none. */
  readonly verifyFraction?: number;
  /** How long a verification replica or arbiter waits for an eligible worker (VERIFY_WAIT_MS). */
  readonly verifyWaitMs?: number;
  /** What workers compress the strips with; absent: zlib. */
  readonly stripDeflate?: StripDeflate;
  /** What checks the results' PNG chunk CRCs; absent: node:zlib's. */
  readonly crc32?: Crc32;
  /** Picks the sampled strips: one draw per strip, sampled when below the fraction (default Math.random). */
  readonly verifyRandom?: (() => number) | undefined;
  /** Where `worker:banned` goes. */
  readonly events?: MasterEvents;
  /** Where the web preview's samples go (workers are asked for them); absent: no preview. */
  readonly preview?: PreviewGrid | undefined;
  /** Where the chunk messages of local blocks get their memory (reused once sent). */
  readonly messageMemory?: MessageMemory | undefined;
  readonly signal: AbortSignal;
  readonly log: Logger;
}

const PROGRESS_EVERY_MS = 250;
const DEFAULT_VERIFY_WAIT_MS = 30_000;

/** Runs the strips; resolves with what verification found (undefined when it is off). */
export async function runStripPipeline(options: StripPipelineOptions): Promise<VerificationSummary | undefined> {
  const { job, dispatcher, signal, tally, writer, log } = options;
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

  const run = { requestId: job.id, claim: options.guard.claim.attempt };
  const fraction = options.verifyFraction ?? 0;
  const random = options.verifyRandom ?? Math.random;
  const sampled = new Set(options.strips.filter(() => fraction > 0 && random() < fraction).map((strip) => strip.index));
  const verification = new VerificationTally(fraction);
  const gate = new StitchGate();
  const rounds = new Map<number, number>();
  const context: StripTaskContext = { job, grid: options.bandSet.grid, stripDeflate: options.stripDeflate ?? 'zlib', preview: options.preview, crc32: options.crc32 };
  // Workers that see it leave their PNGs here instead of sending them; without it they send them.
  const resultFolder = await writer.resultFolder().catch((error: unknown) => {
    log.warn({ error: describeError(error) }, 'no folder for result files: workers send their results');
    return undefined;
  });
  const schedule = (strip: PlannedStrip): void => void queue.add(() => runStrip(strip)).catch(fail);

  const stitch = (strip: PlannedStrip, { result, parsed, cog, previews }: CheckedAnswer, worker: WorkerRef, verified: boolean): Promise<void> =>
    gate.shared(async () => {
      // A worker banned while its result waited for a rewind to end: nobody vouches for that result.
      if (!verified && dispatcher.isBanned(run, worker)) throw new RejectedResultError(`${worker.workerId} is banned from this run`);
      const started = performance.now();
      // From here on a failure is the master's own (its disk), not the worker's. The tally first: a
      // checkpoint may cover the strip as soon as it is written.
      tally.addResult(strip.index, result, worker.workerId);
      verification.stitched(strip.index, worker.workerId, verified);
      for (const [index, data] of parsed) await writer.addStrip(index, strip.index, data);
      for (const [index, pieces] of cog) await writer.addCogPieces(index, strip.index, pieces);
      resultFolder?.release(result); // written or copied: the buffers its files were read into are free
      if (previews) options.preview?.add(strip, previews);
      tally.stitchMs += performance.now() - started;
    });

  /** `worker` was outvoted: no more of this run for it, and whatever it did unchecked is done again. */
  const ban = async (worker: WorkerRef, strip: number): Promise<void> => {
    // Outvoted again (a strip it computed before the ban): its results are refused since, so nothing is new.
    if (dispatcher.isBanned(run, worker)) return;
    const revoked = dispatcher.banWorker(run, worker);
    verification.banned(worker.workerId);
    log.warn({ workerId: worker.workerId, strip, revoked }, 'worker banned from the run: two other workers agreed on a strip it computed differently');
    options.events?.emit('worker:banned', { requestId: job.id, workerId: worker.workerId, strip });
    await gate.exclusive(async () => {
      const unchecked = verification.unverifiedOf(worker.workerId).sort((a, b) => a - b);
      if (unchecked.length === 0) return;
      await (options.checkpointer ?? writer).dropStrips(unchecked);
      for (const index of unchecked) {
        verification.discarded(index);
        tally.forget(index);
      }
      log.warn({ workerId: worker.workerId, strips: unchecked.length }, 'the banned worker\'s unchecked strips are taken out of the mosaic and computed again');
      for (const index of unchecked) {
        const again = options.strips[index];
        if (again) schedule(again);
      }
    });
  };
  const verifier = new StripVerifier({ dispatcher, run, waitMs: options.verifyWaitMs ?? DEFAULT_VERIFY_WAIT_MS, tally: verification, onBan: ban, log });

  const runStrip = async (strip: PlannedStrip): Promise<void> => {
    if (failed.signal.aborted) return;
    const sources = await describeStrip(options.bandSet, strip, { memory: options.messageMemory });
    if (failed.signal.aborted) return;
    const round = rounds.get(strip.index) ?? 0;
    rounds.set(strip.index, round + 1);
    const work: StripWork<CheckedAnswer> = {
      offer: {
        requestId: job.id,
        claim: run.claim,
        tileIndex: strip.index,
        // A computation again (its first worker was banned): a task id of its own.
        ...(round > 0 ? { variant: `r${round}` } : {}),
        task: stripTask(context, strip, sources),
        ...(resultFolder ? { resultFolder } : {}),
        sources: (streamSignal) => metered(sources.chunks(AbortSignal.any([streamSignal, failed.signal])), tally),
      },
      check: (result) => {
        const data = checkAnswer(context, strip, result);
        tally.addCosts(result);
        return { data, digest: sampled.has(strip.index) ? resultDigest(result) : '' };
      },
      stitch: (data, worker, verified) => stitch(strip, data, worker, verified),
      recompute: () => runStrip(strip),
    };
    if (sampled.has(strip.index)) {
      await verifier.verify(work);
    } else {
      await dispatcher.dispatch({ ...work.offer, accept: (result, worker) => work.stitch(work.check(result).data, worker, false) });
    }
    options.onStripDone?.();
    progress(false);
  };

  try {
    for (const strip of options.strips.slice(options.firstStrip ?? 0)) schedule(strip);
    await queue.onIdle();
  } finally {
    signal.removeEventListener('abort', onStop);
    dispatcher.endRun(run);
  }
  if (firstError !== undefined) throw firstError;
  progress(true);
  return fraction > 0 ? verification.summary() : undefined;
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
