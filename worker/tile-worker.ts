/**
 * A stateless worker: long-polls the master for tiles, gets each tile's source data (tile-inputs.ts),
 * processes it, and sends the results back. A slot asks for its next tile as soon as it has computed
 * one, while the master is still checking and stitching that result: waiting for the verdict first
 * left each worker idle 40–170 ms a strip (2026-12-03, full scene, 2 workers). At most one result
 * per slot is in flight: the next is sent only once the master has answered the one before.
 * While the master is unreachable it retries with capped exponential backoff (with jitter), so
 * workers can start before the master and survive its restarts. `stop()` finishes (graceful) or
 * abandons the tiles in hand; the master hands an abandoned tile out again as soon as this
 * worker's Attend call ends (attendance.ts), or when its lease expires.
 */
import * as grpc from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../shared/errors.js';
import { settleWithin } from '../shared/settle-within.js';
import type { Logger } from '../shared/logger.js';
import { backoffDelay, retry, retryPolicy, type RetryPolicy } from '../shared/retry.js';
import type {
  GetTaskResponse__Output,
  SubmitResultRequest,
  TileServiceClient,
  TileTask__Output,
} from '../shared/proto/tile-service.js';
import { ResultSender } from './result-sender.js';
import { Attendance } from './attendance.js';
import type { DirectFiles } from './direct-sources.js';
import { TileInputs } from './tile-inputs.js';
import type { ResultFiles } from './result-files.js';
import { ownPngs, ScratchArrays } from './scratch-arrays.js';
import type { TileCodecs } from './tile-codecs.js';
import { processTile, type ProcessedTile, type SourceStream } from './tile-processor.js';

/** The reconnect backoff's bounds: doubling from initialMs up to maxMs, the upper half of each wait random. */
export type BackoffOptions = Pick<RetryPolicy, 'initialMs' | 'maxMs'>;

export interface TileWorkerOptions {
  readonly client: TileServiceClient;
  readonly workerId: string;
  readonly concurrency: number;
  readonly pollDeadlineMs: number;
  readonly log: Logger;
  readonly backoff?: BackoffOptions;
  /** Called on every turn of a poll loop (liveness for health checks). */
  readonly heartbeat?: () => void;
  /** The master's input files this worker reads itself where it sees them (DIRECT_READS); absent: it never does. */
  readonly directFiles?: DirectFiles;
  /** Leaves results as files in the master's folder where this worker sees it (DIRECT_WRITES); absent: it always sends them. */
  readonly resultFiles?: ResultFiles;
  /** What inflates the blocks and compresses the strips (tile-codecs.ts); absent: the defaults. The caller closes them. */
  readonly codecs?: TileCodecs;
  /** The tile computation; injectable so tests can slow it down or make it fail. */
  readonly process?: (task: TileTask__Output, sources: SourceStream, scratch: ScratchArrays) => Promise<ProcessedTile>;
}

/** A computed tile's result, ready to send. */
interface ComputedResult {
  readonly result: SubmitResultRequest;
  readonly task: TileTask__Output;
  readonly log: Logger;
}

export interface TileWorkerStats {
  tilesDone: number;
  tilesFailed: number;
}

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 5_000 };

function isServiceError(error: unknown): error is grpc.ServiceError {
  return error instanceof Error && typeof (error as Partial<grpc.ServiceError>).code === 'number';
}

/** Retrying the master: for ever (until stopped), doubling up to a cap, each wait between half and all of it. */
function reconnectPolicy(backoff: BackoffOptions): RetryPolicy {
  return retryPolicy({ initialMs: backoff.initialMs, maxMs: backoff.maxMs, factor: 2, jitter: 0.5, attempts: 'unlimited' });
}

export class TileWorker {
  readonly #options: TileWorkerOptions;
  readonly #reconnect: RetryPolicy;
  readonly #inputs: TileInputs;
  readonly #polls = new Set<grpc.ClientUnaryCall>();
  readonly #stopController = new AbortController();
  readonly #stats: TileWorkerStats = { tilesDone: 0, tilesFailed: 0 };
  readonly #attendance: Attendance;
  readonly #sender: ResultSender;
  #loops: Promise<void>[] = [];

  constructor(options: TileWorkerOptions) {
    this.#options = options;
    const reconnect = reconnectPolicy(options.backoff ?? DEFAULT_BACKOFF);
    this.#reconnect = reconnect;
    this.#inputs = new TileInputs({
      client: options.client,
      workerId: options.workerId,
      process: options.process ?? ((task, sources, scratch) => processTile(task, sources, scratch, options.codecs)),
      ...(options.directFiles ? { directFiles: options.directFiles } : {}),
    });
    this.#sender = new ResultSender({ client: options.client, policy: reconnect, stopping: () => this.#stopping });
    this.#attendance = new Attendance({
      client: options.client,
      workerId: options.workerId,
      log: options.log,
      retryDelay: (failures) => backoffDelay(reconnect, failures),
    });
  }

  get stats(): Readonly<TileWorkerStats> {
    return { ...this.#stats };
  }

  start(): void {
    if (this.#loops.length > 0) throw new Error('worker already started');
    this.#options.log.info({ workerId: this.#options.workerId, concurrency: this.#options.concurrency }, 'worker started');
    this.#attendance.start();
    this.#loops = Array.from({ length: this.#options.concurrency }, (_, slot) => this.#loop(slot));
  }

  /**
   * Stops polling. Graceful: tiles in hand are finished and submitted, within timeoutMs.
   * Not graceful (or past the timeout): they are abandoned, and the master hands them out again
   * as soon as this worker's Attend call ends.
   */
  async stop({ graceful = true, timeoutMs = 30_000 }: { graceful?: boolean; timeoutMs?: number } = {}): Promise<void> {
    this.#stopController.abort();
    for (const call of this.#polls) call.cancel();
    if (graceful) {
      const outcome = await settleWithin(Promise.all(this.#loops), timeoutMs);
      if (!outcome.settled) this.#options.log.warn({ timeoutMs }, 'tiles still in hand at shutdown; abandoning them');
    }
    // Last, so tiles finished gracefully are submitted before the master releases what is left.
    await this.#attendance.stop();
    this.#options.client.close();
    await this.#inputs.close();
    this.#options.log.info({ ...this.#stats }, 'worker stopped');
  }

  get #stopping(): boolean {
    return this.#stopController.signal.aborted;
  }

  async #loop(slot: number): Promise<void> {
    const log = this.#options.log.child({ slot });
    const scratch = new ScratchArrays(); // one per slot: its strips never overlap
    let submitting: Promise<void> = Promise.resolve(); // send() never rejects
    try {
      while (!this.#stopping) {
        const response = await this.#nextResponse(log);
        if (!response) break;
        if (response.task) {
          const computed = await this.#compute(response.task, scratch, log);
          await submitting; // one result in flight per slot
          if (computed) submitting = this.#sender.send(computed.result, computed.task, computed.log);
        } else if (response.noTask?.retryAfterMs) {
          await sleep(response.noTask.retryAfterMs, undefined, { signal: this.#stopController.signal }).catch(() => undefined);
        }
      }
    } finally {
      await submitting;
    }
  }

  /** The master's answer to a GetTask, retried while it is unreachable; undefined once the worker stops. */
  async #nextResponse(log: Logger): Promise<GetTaskResponse__Output | undefined> {
    let failures = 0;
    let response: GetTaskResponse__Output;
    try {
      response = await retry(() => this.#pollTask(), {
        policy: this.#reconnect,
        signal: this.#stopController.signal,
        onRetry: ({ error, attempt, delayMs }) => {
          failures = attempt;
          const loud = attempt === 1 || attempt % 20 === 0;
          const details = { error: describeError(error), failures: attempt, retryInMs: delayMs };
          if (isServiceError(error) && error.code === grpc.status.UNAUTHENTICATED) {
            // Retried all the same: the master may be restarted with the token this worker has.
            log[loud ? 'error' : 'debug'](details, 'the master refused this worker: WORKER_TOKEN missing or not the master\'s; retrying');
          } else {
            log[loud ? 'warn' : 'debug'](details, 'master unreachable; retrying');
          }
        },
      });
    } catch {
      return undefined; // retrying ends only when the worker stops
    }
    if (failures > 0) log.info({ after: failures }, 'connected to master');
    return response;
  }

  /** A GetTask, asked again at once when the long poll merely ran out (the master had no tile); heart-beats every turn. */
  async #pollTask(): Promise<GetTaskResponse__Output> {
    for (;;) {
      this.#options.heartbeat?.();
      try {
        return await this.#getTask();
      } catch (error) {
        if (!this.#stopping && isServiceError(error) && error.code === grpc.status.DEADLINE_EXCEEDED) continue;
        throw error;
      }
    }
  }

  #getTask(): Promise<GetTaskResponse__Output> {
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + this.#options.pollDeadlineMs;
      const call = this.#options.client.GetTask(
        { workerId: this.#options.workerId },
        { deadline },
        (error: grpc.ServiceError | null, response?: GetTaskResponse__Output) => {
          this.#polls.delete(call);
          if (error) reject(error);
          else if (!response) reject(new Error('empty GetTask response'));
          else resolve(response);
        },
      );
      this.#polls.add(call);
    });
  }

  /** The tile's result to send (its tiles, or the error that stopped it); undefined when the lease was lost. */
  async #compute(task: TileTask__Output, scratch: ScratchArrays, log: Logger): Promise<ComputedResult | undefined> {
    const tileLog = log.child({ taskId: task.taskId, attempt: task.attempt });
    const result: SubmitResultRequest = { workerId: this.#options.workerId, taskId: task.taskId, attempt: task.attempt };
    try {
      const processed = await this.#inputs.compute(task, scratch, tileLog);
      const left = (await this.#options.resultFiles?.leave(task, processed.tiles)) ?? false;
      if (!left) ownPngs(processed.tiles); // sent instead: they travel while the next strip is built
      result.tiles = processed.tiles;
      result.timings = processed.timings;
      this.#stats.tilesDone += 1;
      tileLog.debug({ timings: processed.timings }, 'tile computed');
    } catch (error) {
      if (isServiceError(error) && error.code === grpc.status.FAILED_PRECONDITION) {
        tileLog.info({ reason: error.details }, 'lease lost before the source data arrived; dropping the tile');
        return undefined;
      }
      this.#stats.tilesFailed += 1;
      result.error = describeError(error);
      tileLog.warn({ error: result.error }, 'tile failed');
    } finally {
      scratch.releaseAll();
    }
    return { result, task, log: tileLog };
  }
}
