/**
 * What becomes of a tile after an attempt goes wrong: a failed attempt (worker error, lease expired,
 * worker gone or banned) re-queues it at the front unless a newer attempt is out or none are left; a
 * rejected result puts it back in circulation; a failure of the master's own while accepting fails
 * it at once, without blaming the worker.
 */
import { TileFailedError, describeError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { MasterEvents } from '../master-events.js';
import { UntakenTileError, type TileLease } from './tile-lease.js';

export interface TileFailuresOptions {
  readonly maxAttempts: number;
  readonly events: MasterEvents;
  readonly log: Logger;
  /** Whether the dispatcher still has this tile (not settled or cancelled meanwhile). */
  readonly isCurrent: (tile: TileLease) => boolean;
  readonly settle: (tile: TileLease) => void;
  readonly enqueue: (tile: TileLease, end: 'front' | 'back') => void;
}

/** Where a tile stood when a result for it went in, so a rejection can put it back the same way. */
export interface AcceptingState {
  readonly wasQueued: boolean;
  readonly heldAttempt: number;
  readonly resultAttempt: number;
}

export class TileFailures {
  readonly #options: TileFailuresOptions;

  constructor(options: TileFailuresOptions) {
    this.#options = options;
  }

  /** Re-queues a tile after a failed attempt, unless a newer attempt is already out or none are left. */
  retry(tile: TileLease, attempt: number, failure: string): void {
    const { isCurrent, settle, enqueue, maxAttempts, events } = this.#options;
    if (!isCurrent(tile)) return;
    tile.lastFailure = failure;
    if (tile.state !== 'leased' || attempt !== tile.attempt) return; // a newer hand-out is under way
    tile.clearTimer();
    if (tile.attempt >= maxAttempts) {
      settle(tile);
      tile.reject(new TileFailedError(`tile ${tile.offer.tileIndex} failed after ${tile.attempt} attempts; last: ${failure}`));
      return;
    }
    enqueue(tile, 'front');
    events.emit('tile:requeued', { taskId: tile.taskId, attempt, reason: failure });
  }

  /** The lease of `attempt` ran out: the tile goes out again (decided later if a result is being accepted). */
  leaseExpired(tile: TileLease, attempt: number, workerId: string, leaseMs: number): void {
    if (tile.attempt !== attempt) return;
    if (tile.state === 'accepting') {
      tile.leaseExpiredWhileAccepting = true;
      return;
    }
    if (tile.state !== 'leased') return;
    this.#options.log.warn({ taskId: tile.taskId, workerId, attempt }, 'tile lease expired; handing it out again');
    this.#options.events.emit('tile:lease-expired', { taskId: tile.taskId, workerId, attempt });
    this.retry(tile, attempt, `lease of worker ${workerId} expired after ${leaseMs} ms`);
  }

  /** The tile waited its offer's maxWaitMs in the ready queue without a taker: it is given up. */
  untaken(tile: TileLease): void {
    tile.waitTimer = undefined;
    if (!this.#options.isCurrent(tile) || tile.state !== 'ready') return;
    this.#options.settle(tile);
    tile.reject(new UntakenTileError(`tile ${tile.taskId}: no eligible worker took it within ${tile.offer.maxWaitMs} ms`));
  }

  /** Puts a tile back in circulation after a result for it was rejected. */
  afterRejected(tile: TileLease, state: AcceptingState, failure: string): void {
    if (!this.#options.isCurrent(tile)) return; // cancelled meanwhile
    tile.lastFailure = failure;
    if (state.wasQueued) {
      this.#options.enqueue(tile, 'front');
      return;
    }
    tile.state = 'leased';
    const holderFailed = state.resultAttempt === state.heldAttempt;
    if (holderFailed || tile.leaseExpiredWhileAccepting) this.retry(tile, state.heldAttempt, failure);
  }

  /** The master could not take a result in (its own I/O failed): the tile fails with that error. */
  masterError(tile: TileLease, error: unknown, log: Logger): { accepted: false; reason: string } {
    log.error({ error: describeError(error) }, 'the master could not take a result in');
    if (this.#options.isCurrent(tile)) {
      this.#options.settle(tile);
      tile.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return { accepted: false, reason: `the master could not store the result: ${describeError(error)}` };
  }
}
