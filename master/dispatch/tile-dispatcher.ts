/**
 * Hands tiles to long-polling workers under leases and collects their results.
 *
 * - A tile offered with `dispatch()` waits in a ready queue until a worker's GetTask takes it.
 * - Every hand-out carries a lease; when it expires (worker gone, or too slow) the tile goes back to
 *   the front of the queue with attempt + 1. After `maxAttempts` hand-outs the tile fails.
 * - The first valid result wins, whichever attempt it belongs to; later duplicates are dropped.
 *   "Valid" means the request's own `accept` callback took it (checksums, sizes, merge).
 * - A long poll that is cancelled is never handed a tile (checked before every hand-out).
 */
import { TileFailedError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { SubmitResultRequest__Output, TileTask } from '../../shared/proto/tile-service.js';

/** What a request runner offers: the task body (without attempt/lease) and how to accept a result. */
export interface TileOffer {
  readonly requestId: string;
  readonly tileIndex: number;
  readonly task: Omit<TileTask, 'taskId' | 'requestId' | 'tileIndex' | 'attempt' | 'leaseExpiresAtMs'>;
  /** Takes a worker's result; throwing rejects the result and the tile is handed out again. */
  readonly accept: (result: SubmitResultRequest__Output) => Promise<void>;
}

export interface TileOutcome {
  readonly workerId: string;
  readonly attempt: number;
}

export interface SubmitVerdict {
  readonly accepted: boolean;
  readonly reason: string;
}

export interface TileDispatcherOptions {
  readonly leaseMs: number;
  readonly maxAttempts: number;
  readonly log: Logger;
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now?: () => number;
}

type TileState = 'ready' | 'leased' | 'accepting';

interface TileEntry {
  readonly taskId: string;
  readonly offer: TileOffer;
  state: TileState;
  /** Number of hand-outs so far (the current or last attempt). */
  attempt: number;
  leaseTimer: NodeJS.Timeout | undefined;
  lastFailure: string | undefined;
  /** The lease ran out while a result was being accepted; decided once acceptance ends. */
  leaseExpiredWhileAccepting: boolean;
  resolve(outcome: TileOutcome): void;
  reject(error: Error): void;
}

interface Waiter {
  readonly workerId: string;
  readonly signal: AbortSignal;
  resolve(task: TileTask | null): void;
}

export function taskIdOf(requestId: string, tileIndex: number): string {
  return `${requestId}/${tileIndex}`;
}

export class TileDispatcher {
  readonly #leaseMs: number;
  readonly #maxAttempts: number;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #tiles = new Map<string, TileEntry>();
  readonly #ready: TileEntry[] = [];
  readonly #waiters: Waiter[] = [];
  #closed = false;

  constructor(options: TileDispatcherOptions) {
    this.#leaseMs = options.leaseMs;
    this.#maxAttempts = options.maxAttempts;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
  }

  /** Offers a tile; resolves when a valid result has been accepted, rejects when the tile fails. */
  dispatch(offer: TileOffer): Promise<TileOutcome> {
    const taskId = taskIdOf(offer.requestId, offer.tileIndex);
    if (this.#closed) return Promise.reject(new Error('tile dispatcher is closed'));
    if (this.#tiles.has(taskId)) return Promise.reject(new Error(`tile ${taskId} is already dispatched`));
    return new Promise<TileOutcome>((resolve, reject) => {
      const entry: TileEntry = {
        taskId,
        offer,
        state: 'ready',
        attempt: 0,
        leaseTimer: undefined,
        lastFailure: undefined,
        leaseExpiredWhileAccepting: false,
        resolve,
        reject,
      };
      this.#tiles.set(taskId, entry);
      this.#enqueue(entry, 'back');
    });
  }

  /**
   * A worker's long poll: a tile now, or when one becomes ready within `holdMs`, else null.
   * Aborting `signal` (the call was cancelled) ends the wait with null.
   */
  nextTask(workerId: string, holdMs: number, signal: AbortSignal): Promise<TileTask | null> {
    if (this.#closed || signal.aborted) return Promise.resolve(null);
    const entry = this.#ready.shift();
    if (entry) return Promise.resolve(this.#lease(entry, workerId));
    return new Promise<TileTask | null>((resolve) => {
      const finish = (task: TileTask | null): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(task);
      };
      const waiter: Waiter = { workerId, signal, resolve: finish };
      const onAbort = (): void => {
        this.#removeWaiter(waiter);
        finish(null);
      };
      const timer = setTimeout(onAbort, holdMs);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** A worker's result (or its report that it could not process the tile). */
  async submit(result: SubmitResultRequest__Output): Promise<SubmitVerdict> {
    const entry = this.#tiles.get(result.taskId);
    if (!entry) return { accepted: false, reason: 'unknown or already completed tile (late duplicate dropped)' };
    if (entry.state === 'accepting') return { accepted: false, reason: 'another result for this tile is being accepted' };

    const log = this.#log.child({ taskId: entry.taskId, workerId: result.workerId, attempt: result.attempt });
    if (result.error) {
      log.warn({ error: result.error }, 'worker could not process tile');
      this.#retryAfterFailure(entry, result.attempt, `worker ${result.workerId}: ${result.error}`);
      return { accepted: true, reason: 'failure recorded; tile will be handed out again' };
    }

    // Take the tile out of circulation while its result is checked and merged.
    const wasQueued = this.#unqueue(entry);
    const heldAttempt = entry.attempt;
    entry.state = 'accepting';
    entry.leaseExpiredWhileAccepting = false;
    try {
      await entry.offer.accept(result);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log.warn({ error: message }, 'result rejected');
      this.#afterRejectedResult(entry, wasQueued, heldAttempt, result, `invalid result from ${result.workerId}: ${message}`);
      return { accepted: false, reason: message };
    }
    this.#settle(entry);
    entry.resolve({ workerId: result.workerId, attempt: result.attempt });
    return { accepted: true, reason: '' };
  }

  /** Withdraws every tile of a request (it failed or the master is stopping). */
  cancelRequest(requestId: string, reason: Error): void {
    for (const entry of [...this.#tiles.values()]) {
      if (entry.offer.requestId !== requestId) continue;
      this.#settle(entry);
      entry.reject(reason);
    }
  }

  /** Tiles waiting for a worker / out on lease (for status and tests). */
  counts(): { ready: number; leased: number; waitingWorkers: number } {
    let leased = 0;
    for (const entry of this.#tiles.values()) if (entry.state !== 'ready') leased += 1;
    return { ready: this.#ready.length, leased, waitingWorkers: this.#waiters.length };
  }

  /** Ends every long poll with "no task" and refuses new work. Outstanding tiles are cancelled. */
  close(reason = new Error('tile dispatcher closed')): void {
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter.resolve(null);
    for (const entry of [...this.#tiles.values()]) {
      this.#settle(entry);
      entry.reject(reason);
    }
  }

  #enqueue(entry: TileEntry, end: 'front' | 'back'): void {
    entry.state = 'ready';
    for (;;) {
      const waiter = this.#waiters.shift();
      if (!waiter) break;
      if (waiter.signal.aborted) continue;
      waiter.resolve(this.#lease(entry, waiter.workerId));
      return;
    }
    if (end === 'front') this.#ready.unshift(entry);
    else this.#ready.push(entry);
  }

  #lease(entry: TileEntry, workerId: string): TileTask {
    entry.attempt += 1;
    entry.state = 'leased';
    const attempt = entry.attempt;
    const leaseExpiresAtMs = this.#now() + this.#leaseMs;
    clearTimeout(entry.leaseTimer);
    entry.leaseTimer = setTimeout(() => this.#onLeaseExpired(entry, attempt, workerId), this.#leaseMs);
    this.#log.debug({ taskId: entry.taskId, workerId, attempt }, 'tile leased');
    return {
      ...entry.offer.task,
      taskId: entry.taskId,
      requestId: entry.offer.requestId,
      tileIndex: entry.offer.tileIndex,
      attempt,
      leaseExpiresAtMs,
    };
  }

  #onLeaseExpired(entry: TileEntry, attempt: number, workerId: string): void {
    if (entry.attempt !== attempt) return;
    if (entry.state === 'accepting') {
      entry.leaseExpiredWhileAccepting = true;
      return;
    }
    if (entry.state !== 'leased') return;
    this.#log.warn({ taskId: entry.taskId, workerId, attempt }, 'tile lease expired; handing it out again');
    this.#retryAfterFailure(entry, attempt, `lease of worker ${workerId} expired after ${this.#leaseMs} ms`);
  }

  /** Re-queues a tile after a failed attempt, unless a newer attempt is already out or none are left. */
  #retryAfterFailure(entry: TileEntry, attempt: number, failure: string): void {
    if (this.#tiles.get(entry.taskId) !== entry) return;
    entry.lastFailure = failure;
    if (entry.state !== 'leased' || attempt !== entry.attempt) return; // a newer hand-out is under way
    clearTimeout(entry.leaseTimer);
    entry.leaseTimer = undefined;
    if (entry.attempt >= this.#maxAttempts) {
      this.#settle(entry);
      entry.reject(
        new TileFailedError(`tile ${entry.offer.tileIndex} failed after ${entry.attempt} attempts; last: ${failure}`),
      );
      return;
    }
    this.#enqueue(entry, 'front');
  }

  /** Puts a tile back in circulation after a result for it was rejected. */
  #afterRejectedResult(
    entry: TileEntry,
    wasQueued: boolean,
    heldAttempt: number,
    result: SubmitResultRequest__Output,
    failure: string,
  ): void {
    if (this.#tiles.get(entry.taskId) !== entry) return; // cancelled meanwhile
    entry.lastFailure = failure;
    if (wasQueued) {
      this.#enqueue(entry, 'front');
      return;
    }
    entry.state = 'leased';
    const holderFailed = result.attempt === heldAttempt;
    if (holderFailed || entry.leaseExpiredWhileAccepting) this.#retryAfterFailure(entry, heldAttempt, failure);
  }

  /** Removes a tile from the ready queue; true when it was there. */
  #unqueue(entry: TileEntry): boolean {
    const at = this.#ready.indexOf(entry);
    if (at < 0) return false;
    this.#ready.splice(at, 1);
    return true;
  }

  /** Forgets a tile: no timer, not in the ready queue, not in the map. */
  #settle(entry: TileEntry): void {
    clearTimeout(entry.leaseTimer);
    entry.leaseTimer = undefined;
    this.#tiles.delete(entry.taskId);
    this.#unqueue(entry);
  }

  #removeWaiter(waiter: Waiter): void {
    const at = this.#waiters.indexOf(waiter);
    if (at >= 0) this.#waiters.splice(at, 1);
  }
}
