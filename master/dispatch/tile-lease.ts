/**
 * One tile in the dispatcher's hands: its offer, where it is in its life, and who holds (or held)
 * each of its leases. A result, an error report or a source read counts only from a worker that
 * was given that attempt; a read needs the lease that is current.
 */
import type { SourceChunk, SubmitResultRequest__Output, TileTask } from '../../shared/proto/tile-service.js';
import { TesseraError } from '../../shared/errors.js';
import type { WorkerTileTimes } from '../master-events.js';
import type { ResultFolder } from '../output/result-folder.js';

/** The task body a runner offers; the dispatcher adds the id, attempt and lease. */
export type TaskBody = Omit<TileTask, 'taskId' | 'requestId' | 'tileIndex' | 'attempt' | 'leaseExpiresAtMs'>;

/** A worker as the dispatcher knows it: the id it gave and the connection it came on ('' in-process). */
export interface WorkerRef {
  readonly workerId: string;
  readonly connection: string;
}

export interface SubmitVerdict {
  readonly accepted: boolean;
  readonly reason: string;
}

/** Which lease a caller claims to hold. */
export interface LeaseClaim {
  readonly workerId: string;
  readonly taskId: string;
  readonly attempt: number;
  /** The connection the call came on (gRPC peer); absent for in-process callers. */
  readonly connection?: string;
}

/** What a request runner offers for one tile. */
export interface TileOffer {
  readonly requestId: string;
  /** Which claim of the request this run is (its attempt number): part of the task id. */
  readonly claim: number;
  readonly tileIndex: number;
  /**
   * Another computation of the same tile (a verification replica, an arbiter, a recomputation):
   * appended to the task id, which stays unique.
   */
  readonly variant?: string;
  /** Goes to the front of the ready queue (a verification replica: its first result is held meanwhile). */
  readonly urgent?: boolean;
  /** Which workers may be handed this tile (besides the run's bans); absent: every worker. */
  readonly eligible?: (worker: WorkerRef) => boolean;
  /**
   * Give the tile up (it rejects with UntakenTileError) when no worker it accepts has taken it
   * within this many milliseconds of its entering the ready queue; absent: wait for ever.
   */
  readonly maxWaitMs?: number;
  readonly task: TaskBody;
  /** Where workers that see it may leave their results as files (result-folder.ts); absent: they send them. */
  readonly resultFolder?: ResultFolder;
  /** The tile's source data, for the worker holding the current lease (read when it asks). */
  readonly sources: (signal: AbortSignal) => AsyncIterable<SourceChunk>;
  /**
   * Takes a worker's result. Throwing RejectedResultError means the result is wrong (the tile is
   * handed out again); any other error is the master's own failure and fails the tile at once.
   */
  readonly accept: (result: SubmitResultRequest__Output, from: WorkerRef) => Promise<void>;
}

/**
 * A task's id: request, claim and tile (and variant), so it is unique per claim of the request: a
 * worker that still holds a task of an earlier claim (its master died) cannot hand it to the next one.
 */
export function taskIdOf(offer: Pick<TileOffer, 'requestId' | 'claim' | 'tileIndex' | 'variant'>): string {
  const base = `${offer.requestId}/${offer.claim}/${offer.tileIndex}`;
  return offer.variant ? `${base}/${offer.variant}` : base;
}

/**
 * Who holds a lease: the worker id it gave and the connection it came on (gRPC's peer address), so
 * a client that only knows or guesses a worker's id cannot answer, read or fail for it from
 * another connection. In-process callers (tests) pass no connection.
 */
export function holderKey(workerId: string, connection = ''): string {
  return `${workerId}\u0000${connection}`;
}

/**
 * Whether two refs are the same worker: the same id. Not the connection: gRPC clients in one
 * process share one (a subchannel pool), so two honest workers may come on the same connection.
 */
export function sameWorker(a: WorkerRef, b: WorkerRef): boolean {
  return a.workerId === b.workerId;
}

/** A worker's result that does not fit its task: the worker's fault, so the tile is handed out again. */
export class RejectedResultError extends TesseraError {}

/** The caller does not hold the lease it names (expired, re-issued, never given, or the tile is done). */
export class LeaseLostError extends TesseraError {}

/** No worker the tile accepts took it within its offer's maxWaitMs. */
export class UntakenTileError extends TesseraError {}

export type TileState = 'ready' | 'leased' | 'accepting';

export interface TileOutcome {
  readonly workerId: string;
  readonly attempt: number;
}

/**
 * `chunks`, calling `onError` with whatever fails reading them (before passing it on: the
 * dispatcher fails the tile then, as the input could not be read), and `onEnd` with the bytes
 * shipped when the stream ends (also when the reader stopped early).
 */
export function reportingFailures(chunks: AsyncIterable<SourceChunk>, onEnd: (bytes: number) => void, onError: (error: unknown) => void): AsyncIterable<SourceChunk> {
  return {
    async *[Symbol.asyncIterator]() {
      let bytes = 0;
      try {
        for await (const chunk of chunks) {
          bytes += chunk.data?.length ?? 0;
          yield chunk;
        }
      } catch (error) {
        onError(error);
        throw error;
      } finally {
        onEnd(bytes);
      }
    },
  };
}

/** What tile:done tells of an accepted result: its PNG bytes, and the times the worker reported. */
export function resultReport(result: SubmitResultRequest__Output): { resultBytes: number; timings?: WorkerTileTimes } {
  const resultBytes = result.tiles.reduce((sum, indexTile) => sum + indexTile.png.length, 0);
  if (!result.timings) return { resultBytes };
  const { decodeMs, computeMs, encodeMs } = result.timings;
  return { resultBytes, timings: { decodeMs, computeMs, encodeMs } };
}

export class TileLease {
  readonly taskId: string;
  readonly offer: TileOffer;
  state: TileState = 'ready';
  /** Number of hand-outs so far (the current or last attempt). */
  attempt = 0;
  leaseTimer: NodeJS.Timeout | undefined;
  /** Runs while the tile waits in the ready queue, when its offer has a maxWaitMs. */
  waitTimer: NodeJS.Timeout | undefined;
  lastFailure: string | undefined;
  /** The lease ran out while a result was being accepted; decided once acceptance ends. */
  leaseExpiredWhileAccepting = false;
  /** Holder (worker id and connection, see holderKey) of every attempt handed out. */
  readonly #holders = new Map<number, string>();
  readonly #settle: { resolve(outcome: TileOutcome): void; reject(error: Error): void };

  constructor(taskId: string, offer: TileOffer, settle: { resolve(outcome: TileOutcome): void; reject(error: Error): void }) {
    this.taskId = taskId;
    this.offer = offer;
    this.#settle = settle;
  }

  /** Hands the next attempt to `holder` (holderKey); returns its number. */
  handOut(holder: string): number {
    this.attempt += 1;
    this.state = 'leased';
    this.#holders.set(this.attempt, holder);
    return this.attempt;
  }

  /** The task a worker is handed for `attempt`, its lease running out at `leaseExpiresAtMs`. */
  taskFor(attempt: number, leaseExpiresAtMs: number): TileTask {
    const { task, requestId, tileIndex } = this.offer;
    const files = this.offer.resultFolder?.fields(this.taskId, attempt);
    return { ...task, ...files, taskId: this.taskId, requestId, tileIndex, attempt, leaseExpiresAtMs };
  }

  /** Whether `holder` was given `attempt` of this tile. */
  heldBy(holder: string, attempt: number): boolean {
    return this.#holders.get(attempt) === holder;
  }

  /** The holder of the lease out now; undefined when none is out. */
  currentHolder(): string | undefined {
    return this.state === 'leased' ? this.#holders.get(this.attempt) : undefined;
  }

  /** Whether `holder` holds the lease that is out now, as `attempt`. */
  holdsCurrent(holder: string, attempt: number): boolean {
    return this.state === 'leased' && attempt === this.attempt && this.heldBy(holder, attempt);
  }

  clearTimer(): void {
    clearTimeout(this.leaseTimer);
    this.leaseTimer = undefined;
    clearTimeout(this.waitTimer);
    this.waitTimer = undefined;
  }

  resolve(outcome: TileOutcome): void {
    this.#settle.resolve(outcome);
  }

  reject(error: Error): void {
    this.#settle.reject(error);
  }
}
