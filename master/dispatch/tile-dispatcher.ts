/**
 * Hands tiles to long-polling workers under leases and collects their results.
 *
 * - A tile offered with `dispatch()` waits in a ready queue until a worker's GetTask takes it.
 * - Every hand-out carries a lease; when it expires (worker gone, or too slow) the tile goes back to
 *   the front of the queue with attempt + 1. After `maxAttempts` hand-outs the tile fails.
 * - Only the worker holding the current lease may read the tile's source data (`openSources`).
 * - A result or error report counts only from a worker that was handed that attempt. The first
 *   valid result wins, whichever attempt it belongs to; later duplicates are dropped. "Valid" means
 *   the request's own `accept` took it. A result `accept` rejects (RejectedResultError) is the
 *   worker's fault and the tile goes out again; any other failure of `accept` is the master's own
 *   (a full disk, say) and fails the tile at once, without blaming the worker.
 * - A long poll that is cancelled is never handed a tile (checked before every hand-out).
 */
import { TileFailedError, describeError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { MasterEvents } from '../master-events.js';
import type { SourceChunk, SubmitResultRequest__Output, TileTask } from '../../shared/proto/tile-service.js';
import { LeaseLostError, RejectedResultError, TileLease, holderKey, type TileOffer, type TileOutcome } from './tile-lease.js';

export { LeaseLostError, RejectedResultError, type TaskBody, type TileOffer, type TileOutcome } from './tile-lease.js';

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

export interface TileDispatcherOptions {
  readonly leaseMs: number;
  readonly maxAttempts: number;
  readonly log: Logger;
  /** Where tile and worker events go (tile:*, worker:*). */
  readonly events?: MasterEvents;
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now?: () => number;
}

interface Waiter {
  /** holderKey of the worker and its connection. */
  readonly holder: string;
  readonly signal: AbortSignal;
  resolve(task: TileTask | null): void;
}

/**
 * A task's id: request, claim and tile, so it is unique per claim of the request: a worker that
 * still holds a task of an earlier claim (its master died) cannot hand it to the next one.
 */
export function taskIdOf(offer: Pick<TileOffer, 'requestId' | 'claim' | 'tileIndex'>): string {
  return `${offer.requestId}/${offer.claim}/${offer.tileIndex}`;
}

export class TileDispatcher {
  readonly #leaseMs: number;
  readonly #maxAttempts: number;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #events: MasterEvents;
  readonly #tiles = new Map<string, TileLease>();
  readonly #ready: TileLease[] = [];
  readonly #waiters: Waiter[] = [];
  #closed = false;

  constructor(options: TileDispatcherOptions) {
    this.#leaseMs = options.leaseMs;
    this.#maxAttempts = options.maxAttempts;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.#events = options.events ?? new MasterEvents();
  }

  /** Offers a tile; resolves when a valid result has been accepted, rejects when the tile fails. */
  dispatch(offer: TileOffer): Promise<TileOutcome> {
    const taskId = taskIdOf(offer);
    if (this.#closed) return Promise.reject(new Error('tile dispatcher is closed'));
    if (this.#tiles.has(taskId)) return Promise.reject(new Error(`tile ${taskId} is already dispatched`));
    return new Promise<TileOutcome>((resolve, reject) => {
      const tile = new TileLease(taskId, offer, { resolve, reject });
      this.#tiles.set(taskId, tile);
      this.#enqueue(tile, 'back');
    });
  }

  /**
   * A worker's long poll: a tile now, or when one becomes ready within `holdMs`, else null.
   * Aborting `signal` (the call was cancelled) ends the wait with null.
   */
  nextTask(workerId: string, holdMs: number, signal: AbortSignal, connection?: string): Promise<TileTask | null> {
    if (this.#closed || signal.aborted) return Promise.resolve(null);
    this.#events.emit('worker:polling', { workerId });
    const holder = holderKey(workerId, connection);
    const tile = this.#ready.shift();
    if (tile) return Promise.resolve(this.#lease(tile, holder));
    return new Promise<TileTask | null>((resolve) => {
      const finish = (task: TileTask | null): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(task);
      };
      const waiter: Waiter = { holder, signal, resolve: finish };
      const onAbort = (): void => {
        this.#removeWaiter(waiter);
        finish(null);
      };
      const timer = setTimeout(onAbort, holdMs);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /**
   * The source data of the tile `claim` names, for the worker holding its current lease; throws
   * LeaseLostError otherwise. A read that fails for any reason but the caller going away fails the
   * tile: the input could not be read, which is no worker's fault.
   */
  openSources(claim: LeaseClaim, signal: AbortSignal): AsyncIterable<SourceChunk> {
    const tile = this.#tiles.get(claim.taskId);
    if (!tile || !tile.holdsCurrent(holderKey(claim.workerId, claim.connection), claim.attempt)) {
      throw new LeaseLostError(`${claim.workerId} does not hold attempt ${claim.attempt} of tile ${claim.taskId} (expired, handed out again, or done)`);
    }
    const chunks = tile.offer.sources(signal);
    const failTile = (error: unknown): void => {
      if (signal.aborted || this.#tiles.get(tile.taskId) !== tile) return;
      this.#settle(tile);
      tile.reject(error instanceof Error ? error : new Error(String(error)));
    };
    const events = this.#events;
    return {
      async *[Symbol.asyncIterator]() {
        let bytes = 0;
        try {
          for await (const chunk of chunks) {
            bytes += chunk.data?.length ?? 0;
            yield chunk;
          }
        } catch (error) {
          failTile(error);
          throw error;
        } finally {
          events.emit('tile:streamed', { taskId: claim.taskId, workerId: claim.workerId, attempt: claim.attempt, bytes });
        }
      },
    };
  }

  /** A worker's result (or its report that it could not process the tile), from `connection` (gRPC peer). */
  async submit(result: SubmitResultRequest__Output, connection?: string): Promise<SubmitVerdict> {
    const tile = this.#tiles.get(result.taskId);
    if (!tile) return { accepted: false, reason: 'unknown or already completed tile (late duplicate dropped)' };
    if (!tile.heldBy(holderKey(result.workerId, connection), result.attempt)) {
      return { accepted: false, reason: `${result.workerId || 'an unnamed worker'} was not handed attempt ${result.attempt} of this tile` };
    }
    if (tile.state === 'accepting') return { accepted: false, reason: 'another result for this tile is being accepted' };

    const log = this.#log.child({ taskId: tile.taskId, workerId: result.workerId, attempt: result.attempt });
    if (result.error) {
      log.warn({ error: result.error }, 'worker could not process tile');
      this.#retryAfterFailure(tile, result.attempt, `worker ${result.workerId}: ${result.error}`);
      return { accepted: true, reason: 'failure recorded; tile will be handed out again' };
    }

    // Take the tile out of circulation while its result is checked and merged.
    const wasQueued = this.#unqueue(tile);
    const heldAttempt = tile.attempt;
    tile.state = 'accepting';
    tile.leaseExpiredWhileAccepting = false;
    try {
      await tile.offer.accept(result);
    } catch (error) {
      if (!(error instanceof RejectedResultError)) return this.#failOnMasterError(tile, error, log);
      log.warn({ error: error.message }, 'result rejected');
      this.#events.emit('tile:rejected', { taskId: tile.taskId, workerId: result.workerId, attempt: result.attempt, reason: error.message });
      this.#afterRejectedResult(tile, wasQueued, heldAttempt, result, `invalid result from ${result.workerId}: ${error.message}`);
      return { accepted: false, reason: error.message };
    }
    this.#settle(tile);
    tile.resolve({ workerId: result.workerId, attempt: result.attempt });
    const resultBytes = result.tiles.reduce((sum, indexTile) => sum + indexTile.png.length, 0);
    const timings = result.timings ? { decodeMs: result.timings.decodeMs, computeMs: result.timings.computeMs, encodeMs: result.timings.encodeMs } : undefined;
    this.#events.emit('tile:done', { taskId: tile.taskId, workerId: result.workerId, attempt: result.attempt, resultBytes, ...(timings ? { timings } : {}) });
    return { accepted: true, reason: '' };
  }

  /**
   * The worker is gone (its Attend call on `connection` ended): every lease it holds there goes
   * back to the queue now, as a failed attempt, rather than when the lease would expire.
   */
  /** The worker opened its Attend call (it is connected until releaseWorker). */
  workerAttending(workerId: string): void {
    this.#events.emit('worker:attending', { workerId });
  }

  releaseWorker(workerId: string, connection?: string): number {
    const holder = holderKey(workerId, connection);
    let released = 0;
    for (const tile of [...this.#tiles.values()]) {
      if (tile.currentHolder() !== holder) continue;
      released += 1;
      this.#retryAfterFailure(tile, tile.attempt, `worker ${workerId} disconnected`);
    }
    if (released > 0) this.#log.warn({ workerId, released }, 'worker disconnected; its tiles go back to the queue');
    this.#events.emit('worker:gone', { workerId, released });
    return released;
  }

  /** Withdraws every tile of a request (it failed or the master is stopping). */
  cancelRequest(requestId: string, reason: Error): void {
    for (const tile of [...this.#tiles.values()]) {
      if (tile.offer.requestId !== requestId) continue;
      this.#settle(tile);
      tile.reject(reason);
    }
  }

  /** Tiles waiting for a worker / out on lease (for status and tests). */
  counts(): { ready: number; leased: number; waitingWorkers: number } {
    let leased = 0;
    for (const tile of this.#tiles.values()) if (tile.state !== 'ready') leased += 1;
    return { ready: this.#ready.length, leased, waitingWorkers: this.#waiters.length };
  }

  /** Ends every long poll with "no task" and refuses new work. Outstanding tiles are cancelled. */
  close(reason = new Error('tile dispatcher closed')): void {
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter.resolve(null);
    for (const tile of [...this.#tiles.values()]) {
      this.#settle(tile);
      tile.reject(reason);
    }
  }

  #enqueue(tile: TileLease, end: 'front' | 'back'): void {
    tile.state = 'ready';
    for (;;) {
      const waiter = this.#waiters.shift();
      if (!waiter) break;
      if (waiter.signal.aborted) continue;
      waiter.resolve(this.#lease(tile, waiter.holder));
      return;
    }
    if (end === 'front') this.#ready.unshift(tile);
    else this.#ready.push(tile);
  }

  #lease(tile: TileLease, holder: string): TileTask {
    const attempt = tile.handOut(holder);
    const workerId = holder.slice(0, holder.indexOf('\u0000'));
    const leaseExpiresAtMs = this.#now() + this.#leaseMs;
    tile.clearTimer();
    tile.leaseTimer = setTimeout(() => this.#onLeaseExpired(tile, attempt, workerId), this.#leaseMs);
    this.#log.debug({ taskId: tile.taskId, workerId, attempt }, 'tile leased');
    this.#events.emit('tile:leased', { taskId: tile.taskId, workerId, attempt });
    return {
      ...tile.offer.task,
      taskId: tile.taskId,
      requestId: tile.offer.requestId,
      tileIndex: tile.offer.tileIndex,
      attempt,
      leaseExpiresAtMs,
    };
  }

  #onLeaseExpired(tile: TileLease, attempt: number, workerId: string): void {
    if (tile.attempt !== attempt) return;
    if (tile.state === 'accepting') {
      tile.leaseExpiredWhileAccepting = true;
      return;
    }
    if (tile.state !== 'leased') return;
    this.#log.warn({ taskId: tile.taskId, workerId, attempt }, 'tile lease expired; handing it out again');
    this.#events.emit('tile:lease-expired', { taskId: tile.taskId, workerId, attempt });
    this.#retryAfterFailure(tile, attempt, `lease of worker ${workerId} expired after ${this.#leaseMs} ms`);
  }

  /** Re-queues a tile after a failed attempt, unless a newer attempt is already out or none are left. */
  #retryAfterFailure(tile: TileLease, attempt: number, failure: string): void {
    if (this.#tiles.get(tile.taskId) !== tile) return;
    tile.lastFailure = failure;
    if (tile.state !== 'leased' || attempt !== tile.attempt) return; // a newer hand-out is under way
    tile.clearTimer();
    if (tile.attempt >= this.#maxAttempts) {
      this.#settle(tile);
      tile.reject(new TileFailedError(`tile ${tile.offer.tileIndex} failed after ${tile.attempt} attempts; last: ${failure}`));
      return;
    }
    this.#enqueue(tile, 'front');
    this.#events.emit('tile:requeued', { taskId: tile.taskId, attempt, reason: failure });
  }

  /** Puts a tile back in circulation after a result for it was rejected. */
  #afterRejectedResult(tile: TileLease, wasQueued: boolean, heldAttempt: number, result: SubmitResultRequest__Output, failure: string): void {
    if (this.#tiles.get(tile.taskId) !== tile) return; // cancelled meanwhile
    tile.lastFailure = failure;
    if (wasQueued) {
      this.#enqueue(tile, 'front');
      return;
    }
    tile.state = 'leased';
    const holderFailed = result.attempt === heldAttempt;
    if (holderFailed || tile.leaseExpiredWhileAccepting) this.#retryAfterFailure(tile, heldAttempt, failure);
  }

  /** The master could not take a result in (its own I/O failed): the tile fails with that error. */
  #failOnMasterError(tile: TileLease, error: unknown, log: Logger): SubmitVerdict {
    log.error({ error: describeError(error) }, 'the master could not take a result in');
    if (this.#tiles.get(tile.taskId) === tile) {
      this.#settle(tile);
      tile.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return { accepted: false, reason: `the master could not store the result: ${describeError(error)}` };
  }

  /** Removes a tile from the ready queue; true when it was there. */
  #unqueue(tile: TileLease): boolean {
    const at = this.#ready.indexOf(tile);
    if (at < 0) return false;
    this.#ready.splice(at, 1);
    return true;
  }

  /** Forgets a tile: no timer, not in the ready queue, not in the map. */
  #settle(tile: TileLease): void {
    tile.clearTimer();
    this.#tiles.delete(tile.taskId);
    this.#unqueue(tile);
  }

  #removeWaiter(waiter: Waiter): void {
    const at = this.#waiters.indexOf(waiter);
    if (at >= 0) this.#waiters.splice(at, 1);
  }
}
