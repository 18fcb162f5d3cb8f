/**
 * Runs one claimed request to a recorded end: validate the row, open the input, plan its strips,
 * run them through the workers into the mosaic writer (strip-pipeline.ts), write the manifest,
 * publish, upload, and record `completed` — or `failed` with a reason a user understands, or back
 * to `pending` when the master is stopping. It never throws: a bad request never stops the master.
 * While the database is unreachable the run goes on (progress and heartbeats fail quietly); the
 * writes it must make (the plan, the claim's renewal before publishing, the outcome) wait for the
 * database to come back (request-outcome.ts).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cpuMsSince } from '../shared/cpu-time.js';
import { RequestError, describeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { MessageMemory } from '../shared/proto/source-chunk-wire.js';
import type { MosaicRequestRow, RequestStore } from './db/request-store.js';
import type { TileDispatcher } from './dispatch/tile-dispatcher.js';
import { crsWkt } from './output/georeference.js';
import { writeManifest, type Manifest } from './output/manifest.js';
import { runManifest } from './run-manifest.js';
import type { RequestProcessor } from './request-claimer.js';
import { parseRequest, type RequestDefaults } from './request-spec.js';
import { openRunOutput } from './run-output.js';
import { referenceRowsFor } from './source/band-set.js';
import { openRequestSource } from './source/request-source.js';
import { planStrips } from './source/strip-plan.js';
import { StopRequested, runStripPipeline } from './strip-pipeline.js';
import { ClaimGuard, ClaimLostError } from './claim-guard.js';
import { MasterEvents } from './master-events.js';
import { OutputFolderError, asOutputFolderError } from './output/output-folder.js';
import { PreviewGrid } from './output/preview-grid.js';
import { tryWriteWebPreviews } from './output/web-preview.js';
import { claimOf } from './store/request-store.js';
import { DatabaseOutageError, retryThroughOutage, type OutageRetry } from './db/outage-retry.js';
import { RUN_OUTAGE_RETRY, RequestOutcome } from './request-outcome.js';
import { uploadOutputs, type OutputUploader } from './run-upload.js';
import type { Crc32 } from '../shared/checksum.js';
import type { StripDeflater } from '../shared/png/strip-deflater.js';
import type { StripDeflate } from '../shared/types.js';

export type { OutputUploader } from './run-upload.js';

export interface RequestRunnerOptions {
  readonly store: RequestStore;
  readonly dispatcher: TileDispatcher;
  readonly masterId: string;
  readonly outputDir: string;
  /** What a request row may leave to the master (EarthDaily URL and band layout). */
  readonly requestDefaults: RequestDefaults;
  /** Target pixels per strip, unless the request sets strip_rows. */
  readonly stripPixels: number;
  /** What workers compress the strips with (STRIP_DEFLATE, resolved at start); absent: zlib. */
  readonly stripDeflate?: StripDeflate;
  /** What checks the results' PNG chunk CRCs (ISA-L's where the master has it); absent: node:zlib's. */
  readonly crc32?: Crc32;
  /** What compresses the web previews (ISA-L where the master has it: master-codecs.ts); absent: node:zlib. */
  readonly previewDeflater?: StripDeflater;
  /** Out-of-order results held in memory before the writer spills them to disk. */
  readonly stripBufferBytes: number;
  readonly maxBboxDeg: number;
  readonly maxRequestPixels: number;
  /** Read timeout of remote range requests (READ_TIMEOUT_MS); absent: the opener's default. */
  readonly readTimeoutMs?: number | undefined;
  /** Absent: outputs stay on the volume only. */
  readonly uploader?: OutputUploader | undefined;
  /** Strips out at once (waiting for a worker or on lease). */
  readonly maxInflightTiles: number;
  /** Share of strips verified by a second worker (VERIFY_FRACTION), and how long a copy waits for one (VERIFY_WAIT_MS). */
  readonly verifyFraction?: number;
  readonly verifyWaitMs?: number;
  /** Draws which strips are verified (tests); default Math.random. */
  readonly verifyRandom?: (() => number) | undefined;
  /** Memory for the messages that carry source blocks, reused once sent; absent: a fresh buffer each. */
  readonly messageMemory?: MessageMemory | undefined;
  readonly heartbeatMs: number;
  /** How often a run reads its row to notice a cancellation the store sent no wake-up for (default 1 s). */
  readonly cancelCheckMs?: number | undefined;
  /** Where the run says what happens (request:*); absent: nobody listens. */
  readonly events?: MasterEvents | undefined;
  /** How often (at most) a run checkpoints its written strips, so a takeover redoes no more than that. */
  readonly checkpointMs: number;
  /** A run the master stops keeps its staging folder and checkpoint for the next claim (false for a one-shot run: there is none). */
  readonly resumable: boolean;
  /** A request claimed more often than this (its masters kept dying) fails instead of running again. */
  readonly maxAttempts: number;
  /** How long the run's own writes wait for an unreachable database (default RUN_OUTAGE_RETRY: 10 min). */
  readonly outageRetry?: OutageRetry | undefined;
  readonly log: Logger;
}

/** A cancelled request is noticed within this long even without a NOTIFY (the embedded database). */
const CANCEL_CHECK_MS = 1_000;

export class RequestRunner implements RequestProcessor {
  readonly #options: RequestRunnerOptions;
  readonly #outageRetry: OutageRetry;
  readonly #events: MasterEvents;

  constructor(options: RequestRunnerOptions) {
    this.#options = options;
    this.#outageRetry = options.outageRetry ?? RUN_OUTAGE_RETRY;
    this.#events = options.events ?? new MasterEvents();
  }

  async process(row: MosaicRequestRow, signal: AbortSignal): Promise<void> {
    const { store, log: baseLog } = this.#options;
    const log = baseLog.child({ requestId: row.id, claim: row.attempts });
    const outageRetry = this.#outageRetry;
    const claim = claimOf(row);
    this.#events.emit('request:claimed', { requestId: row.id, masterId: claim.masterId, attempt: claim.attempt });
    const cancelCheckMs = this.#options.cancelCheckMs ?? CANCEL_CHECK_MS;
    const guard = new ClaimGuard({ claim, store, heartbeatMs: this.#options.heartbeatMs, cancelCheckMs, outageRetry, stopSignal: signal, log });
    const outcome = new RequestOutcome({ store, claim, retry: outageRetry, log });
    try {
      // Stopping the master, losing the claim, or a user cancelling the request ends the run.
      await this.#run(row, guard, outcome, AbortSignal.any([signal, guard.signal]), log);
    } catch (error) {
      await this.#recordFailure(guard, outcome, error, signal, log);
    } finally {
      guard.stop();
    }
  }

  async #recordFailure(guard: ClaimGuard, outcome: RequestOutcome, error: unknown, signal: AbortSignal, log: Logger): Promise<void> {
    // The claim is gone: whoever holds the request now records its outcome; this run writes nothing.
    if (guard.signal.aborted || error instanceof ClaimLostError) {
      if (await guard.wasCancelled()) this.#events.emit('request:cancelled', { requestId: guard.claim.id });
      return;
    }
    try {
      if (signal.aborted || error instanceof StopRequested) {
        const released = await outcome.release();
        log.warn({ released }, 'master stopping: request released back to pending');
        return;
      }
      // Waited for the database as long as a run does: nothing can be recorded now.
      if (error instanceof DatabaseOutageError) throw error;
      // The master's own filesystem trouble is said as such, with the folder and the fix.
      const explained = asOutputFolderError(error, this.#options.outputDir) ?? error;
      const message = describeError(explained);
      if (explained instanceof RequestError || explained instanceof OutputFolderError) log.warn({ error: message }, 'request failed');
      else log.error({ err: error }, 'request failed unexpectedly');
      if (await outcome.fail(message, AbortSignal.any([signal, guard.signal]))) this.#events.emit('request:failed', { requestId: guard.claim.id, error: message });
    } catch (recordError) {
      if (guard.signal.aborted) return; // the claim was found gone meanwhile (the guard said so)
      // The row stays `running` and is claimed again once its heartbeat is REQUEST_STALE_MS old.
      log.error({ error: describeError(recordError) }, 'could not record the request outcome');
    }
  }

  async #run(row: MosaicRequestRow, guard: ClaimGuard, outcome: RequestOutcome, signal: AbortSignal, log: Logger): Promise<void> {
    const started = performance.now();
    const cpu = process.cpuUsage(); // the master's CPU for this request: from here to its manifest
    const options = this.#options;
    if (row.attempts > options.maxAttempts) {
      throw new RequestError(
        `request was started ${row.attempts} times without finishing (masters stopped or crashed while running it); ` +
          `check the master logs, then run UPDATE mosaic_requests SET status = 'pending', attempts = 0 WHERE id = ${row.id} to retry`,
      );
    }
    const source = await openRequestSource(parseRequest(row, options.requestDefaults), options, signal);
    const { bandSet, job } = source;
    try {
      const openedAt = performance.now();
      const strips = planStrips(bandSet.grid, { pixelBudget: options.stripPixels, rows: job.stripRows, reference: referenceRowsFor(bandSet) });
      const total = () => options.store.setTilesTotal(guard.claim, strips.length);
      guard.note(await retryThroughOutage('recording the plan', total, { retry: this.#outageRetry, signal, log }), 'planning');
      log.info({ tiles: strips.length, rows: strips[0]?.rows, grid: bandSet.grid }, 'request planned');
      this.#events.emit('request:planned', { requestId: row.id, tilesTotal: strips.length });

      const finalDir = join(options.outputDir, row.id);
      const wkt = crsWkt(bandSet.grid.epsg);
      const { writer, tally, checkpointer, firstStrip, abandon } = await openRunOutput({
        finalDir,
        claim: guard.claim,
        job,
        grid: bandSet.grid,
        crsWkt: wkt,
        strips,
        stripBufferBytes: options.stripBufferBytes,
        checkpointEveryMs: options.checkpointMs,
        resumable: options.resumable,
        log,
      });
      // A resumed run has no samples of the strips it took over: no preview then.
      const preview = firstStrip === 0 ? new PreviewGrid(bandSet.grid, job.indices) : undefined;
      try {
        const verification = await runStripPipeline({
          ...options,
          ...{ job, bandSet, strips, writer, tally, guard, firstStrip, checkpointer, preview, signal, log },
          maxInflight: options.maxInflightTiles,
          onStripDone: () => {
            checkpointer.poke();
            this.#events.emit('request:progress', { requestId: row.id, tilesDone: tally.tilesDone, tilesTotal: strips.length });
          },
        });
        await checkpointer.settle();
        const tilesAt = performance.now();
        const timings = {
          openMs: openedAt - started,
          tilesMs: tilesAt - openedAt,
          readMs: tally.readMs,
          stitchMs: tally.stitchMs,
          workerDecodeMs: tally.workerTimings.decodeMs,
          workerReceiveMs: tally.workerTimings.receiveMs,
          workerComputeMs: tally.workerTimings.computeMs,
          workerEncodeMs: tally.workerTimings.encodeMs,
          workerCpuMs: tally.workerTimings.cpuMs, // the workers' own reports
        };
        // This master process's CPU (every thread) from the start of the request to its manifest:
        // opening the sources, the strips, finishing the files and the previews; all but the
        // publishing rename and the upload. The manifest and the row say the same figure.
        const masterCpu = { ms: 0 };
        const manifest = (mergeMs: number, previews: Manifest['preview']): Manifest => {
          masterCpu.ms = cpuMsSince(cpu);
          const figures = { ...timings, masterCpuMs: masterCpu.ms, mergeMs, totalMs: performance.now() - started };
          return runManifest({ requestId: row.id, job, source, wkt, strips, tally, written: writer.stats(), previews, verification, timings: figures, stripDeflate: options.stripDeflate ?? 'zlib' });
        };
        const outputs = await writer.finish({
          beforePublish: async (stagingDir) => {
            await checkpointer.discard(); // the published folder holds outputs, not a resume point
            const previews = await tryWriteWebPreviews(stagingDir, bandSet.grid, preview, job.indices, log, options.previewDeflater);
            await writeManifest(join(stagingDir, 'manifest.json'), manifest(performance.now() - tilesAt, previews));
            await guard.confirm('publishing'); // only the claim's holder replaces the request's folder
          },
        });
        const mergeMs = performance.now() - tilesAt;
        await guard.confirm('uploading');
        const upload = await uploadOutputs(options.uploader, row.id, finalDir, signal, log);
        const completed = await outcome.complete({
          outputDir: finalDir,
          outputs: { ...outputs, manifest: join(finalDir, 'manifest.json') },
          workerTiles: tally.workerTiles,
          timings: { ...timings, masterCpuMs: masterCpu.ms, mergeMs, uploadMs: upload.ms, totalMs: performance.now() - started },
          tilesDone: tally.tilesDone,
          uploadUrls: upload.urls,
          uploadError: upload.error,
          verification: verification ?? null,
        }, signal);
        if (completed) {
          log.info({ tiles: strips.length, ms: Math.round(performance.now() - started) }, 'request completed');
          this.#events.emit('request:completed', { requestId: row.id, tilesDone: tally.tilesDone, ms: performance.now() - started });
        } else if (await guard.wasCancelled()) {
          // Cancelled between publishing and recording: the folder is this claim's; take it back.
          await rm(finalDir, { recursive: true, force: true });
          log.info('request cancelled as it completed: its published folder removed');
          this.#events.emit('request:cancelled', { requestId: row.id });
        } else log.warn('request was taken over by another master before it completed; outcome not recorded');
      } catch (error) {
        await abandon(signal.aborted && !(error instanceof ClaimLostError) ? new StopRequested('master stopping') : error);
        throw error;
      }
    } finally {
      await bandSet.close();
    }
  }
}
