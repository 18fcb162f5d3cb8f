/**
 * Hands tiles to long-polling workers under leases and collects their results.
 *
 * - A tile offered with `dispatch()` waits in a ready queue until a worker it accepts takes it
 *   (tile-queue.ts: its offer's `eligible`, and the run's bans, worker-bans.ts); an offer with
 *   `maxWaitMs` that no such worker takes in time is given up (UntakenTileError).
 * - Every hand-out carries a lease; when it expires the tile goes back to the front of the queue
 *   with attempt + 1. After `maxAttempts` hand-outs the tile fails (tile-failures.ts).
 * - Only the worker holding the current lease may read the tile's source data (`openSources`).
 * - A result or error report counts only from a worker that was handed that attempt and is not
 *   banned from the run. The first valid result (one the request's `accept` took) wins; later
 *   duplicates are dropped. A RejectedResultError from `accept` is the worker's fault (the tile goes
 *   out again); any other failure is the master's own and fails the tile at once.
 * - A long poll that is cancelled is never handed a tile (checked before every hand-out).
 */
import type { Logger } from '../../shared/logger.js';
import { MasterEvents } from '../master-events.js';
import type { SourceChunk, SubmitResultRequest__Output, TileTask } from '../../shared/proto/tile-service.js';
import { LeaseLostError, RejectedResultError, TileLease, holderKey, reportingFailures, resultReport, taskIdOf, type LeaseClaim, type SubmitVerdict, type TileOffer, type TileOutcome, type WorkerRef } from './tile-lease.js';
import { TileQueue } from './tile-queue.js';
import { TileFailures } from './tile-failures.js';
import { WorkerBans, type RunRef } from './worker-bans.js';

export { LeaseLostError, RejectedResultError, UntakenTileError, sameWorker, taskIdOf } from './tile-lease.js';
export type { LeaseClaim, SubmitVerdict, TaskBody, TileOffer, TileOutcome, WorkerRef } from './tile-lease.js';
export type { RunRef } from './worker-bans.js';

export interface TileDispatcherOptions {
  readonly leaseMs: number;
  readonly maxAttempts: number;
  readonly log: Logger;
  /** Where tile and worker events go (tile:*, worker:*). */
  readonly events?: MasterEvents;
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now?: () => number;
}

export class TileDispatcher {
  readonly #leaseMs: number;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #events: MasterEvents;
  readonly #tiles = new Map<string, TileLease>();
  readonly #bans = new WorkerBans();
  readonly #queue = new TileQueue((tile, worker) => !this.#bans.isBanned(tile.offer, worker) && (tile.offer.eligible?.(worker) ?? true));
  readonly #failures: TileFailures;
  #closed = false;

  constructor(options: TileDispatcherOptions) {
    this.#leaseMs = options.leaseMs;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.#events = options.events ?? new MasterEvents();
    this.#failures = new TileFailures({
      maxAttempts: options.maxAttempts,
      events: this.#events,
      log: options.log,
      isCurrent: (tile) => this.#tiles.get(tile.taskId) === tile,
      settle: (tile) => this.#settle(tile),
      enqueue: (tile, end) => this.#enqueue(tile, end),
    });
  }

  /** Offers a tile; resolves when a valid result has been accepted, rejects when the tile fails. */
  dispatch(offer: TileOffer): Promise<TileOutcome> {
    const taskId = taskIdOf(offer);
    if (this.#closed) return Promise.reject(new Error('tile dispatcher is closed'));
    if (this.#tiles.has(taskId)) return Promise.reject(new Error(`tile ${taskId} is already dispatched`));
    return new Promise<TileOutcome>((resolve, reject) => {
      const tile = new TileLease(taskId, offer, { resolve, reject });
      this.#tiles.set(taskId, tile);
      this.#enqueue(tile, offer.urgent ? 'front' : 'back');
    });
  }

  /**
   * A worker's long poll: a tile it may have now, or when one becomes ready within `holdMs`, else
   * null. Aborting `signal` (the call was cancelled) ends the wait with null.
   */
  nextTask(workerId: string, holdMs: number, signal: AbortSignal, connection?: string): Promise<TileTask | null> {
    if (this.#closed || signal.aborted) return Promise.resolve(null);
    this.#events.emit('worker:polling', { workerId });
    const worker = { workerId, connection: connection ?? '' };
    const ready = this.#queue.takeFor(worker);
    if (ready) return Promise.resolve(this.#lease(ready, worker));
    return this.#queue.wait(worker, holdMs, signal).then((leased) => (leased ? this.#lease(leased, worker) : null));
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
    const { taskId, workerId, attempt } = claim;
    return reportingFailures(tile.offer.sources(signal), (bytes) => this.#events.emit('tile:streamed', { taskId, workerId, attempt, bytes }), (error) => {
      if (signal.aborted || this.#tiles.get(tile.taskId) !== tile) return;
      this.#settle(tile);
      tile.reject(error instanceof Error ? error : new Error(String(error)));
    });
  }

  /** A worker's result (or its report that it could not process the tile), from `connection` (gRPC peer). */
  async submit(result: SubmitResultRequest__Output, connection?: string): Promise<SubmitVerdict> {
    const tile = this.#tiles.get(result.taskId);
    if (!tile) return { accepted: false, reason: 'unknown or already completed tile (late duplicate dropped)' };
    const worker = { workerId: result.workerId, connection: connection ?? '' };
    if (!tile.heldBy(holderKey(worker.workerId, worker.connection), result.attempt)) {
      return { accepted: false, reason: `${result.workerId || 'an unnamed worker'} was not handed attempt ${result.attempt} of this tile` };
    }
    if (this.#bans.isBanned(tile.offer, worker)) {
      return { accepted: false, reason: `${result.workerId} is banned from request ${tile.offer.requestId}: its results disagreed with other workers'` };
    }
    if (tile.state === 'accepting') return { accepted: false, reason: 'another result for this tile is being accepted' };

    const log = this.#log.child({ taskId: tile.taskId, workerId: result.workerId, attempt: result.attempt });
    if (result.error) {
      log.warn({ error: result.error }, 'worker could not process tile');
      this.#failures.retry(tile, result.attempt, `worker ${result.workerId}: ${result.error}`);
      return { accepted: true, reason: 'failure recorded; tile will be handed out again' };
    }

    // Take the tile out of circulation while its result is checked and merged.
    const wasQueued = this.#queue.remove(tile);
    const heldAttempt = tile.attempt;
    tile.state = 'accepting';
    tile.leaseExpiredWhileAccepting = false;
    try {
      await tile.offer.resultFolder?.collect(result, tile.taskId, tile.offer.task);
      await tile.offer.accept(result, worker);
    } catch (error) {
      if (!(error instanceof RejectedResultError)) return this.#failures.masterError(tile, error, log);
      log.warn({ error: error.message }, 'result rejected');
      this.#events.emit('tile:rejected', { taskId: tile.taskId, workerId: result.workerId, attempt: result.attempt, reason: error.message });
      this.#failures.afterRejected(tile, { wasQueued, heldAttempt, resultAttempt: result.attempt }, `invalid result from ${result.workerId}: ${error.message}`);
      return { accepted: false, reason: error.message };
    }
    this.#settle(tile);
    tile.resolve({ workerId: result.workerId, attempt: result.attempt });
    this.#events.emit('tile:done', { taskId: tile.taskId, workerId: result.workerId, attempt: result.attempt, ...resultReport(result) });
    return { accepted: true, reason: '' };
  }

  /** The worker opened its Attend call (it is connected until releaseWorker). */
  workerAttending(workerId: string): void {
    this.#log.debug({ workerId }, 'worker attending');
    this.#events.emit('worker:attending', { workerId });
  }

  /**
   * The worker is gone (its Attend call on `connection` ended): every lease it holds there goes
   * back to the queue now, as a failed attempt, rather than when the lease would expire.
   */
  releaseWorker(workerId: string, connection?: string): number {
    const holder = holderKey(workerId, connection);
    const released = this.#revoke((tile) => tile.currentHolder() === holder, `worker ${workerId} disconnected`);
    if (released > 0) this.#log.warn({ workerId, released }, 'worker disconnected; its tiles go back to the queue');
    this.#events.emit('worker:gone', { workerId, released });
    return released;
  }

  /**
   * `worker` gets no more tiles of this run, its results for it are refused, and the leases it
   * holds on the run's tiles go back to the queue (for other workers) at once.
   */
  banWorker(run: RunRef, worker: WorkerRef): number {
    this.#bans.ban(run, worker);
    // By id, whatever connection it holds them on: a ban is by id.
    const ofRun = (tile: TileLease): boolean => tile.offer.requestId === run.requestId && tile.offer.claim === run.claim;
    const held = (tile: TileLease): boolean => tile.currentHolder()?.startsWith(holderKey(worker.workerId, '')) === true;
    return this.#revoke((tile) => ofRun(tile) && held(tile), `worker ${worker.workerId} is banned from the run`);
  }

  isBanned(run: RunRef, worker: WorkerRef): boolean {
    return this.#bans.isBanned(run, worker);
  }

  /** Withdraws every tile of a request (it failed or the master is stopping). */
  cancelRequest(requestId: string, reason: Error): void {
    this.#withdraw((tile) => tile.offer.requestId === requestId, reason);
  }

  /** The run has ended: its bans are forgotten. */
  endRun(run: RunRef): void {
    this.#bans.forget(run);
  }

  /** Tiles waiting for a worker / out on lease (for status and tests). */
  counts(): { ready: number; leased: number; waitingWorkers: number } {
    let leased = 0;
    for (const tile of this.#tiles.values()) if (tile.state !== 'ready') leased += 1;
    return { ready: this.#queue.readyCount, leased, waitingWorkers: this.#queue.waitingCount };
  }

  /** Ends every long poll with "no task" and refuses new work. Outstanding tiles are cancelled. */
  close(reason = new Error('tile dispatcher closed')): void {
    this.#closed = true;
    for (const waiter of this.#queue.drainWaiters()) waiter.resolve(null);
    this.#withdraw(() => true, reason);
  }

  #withdraw(which: (tile: TileLease) => boolean, reason: Error): void {
    for (const tile of [...this.#tiles.values()]) {
      if (!which(tile)) continue;
      this.#settle(tile);
      tile.reject(reason);
    }
  }

  /** Every lease out on the tiles `which` picks goes back as a failed attempt; returns how many. */
  #revoke(which: (tile: TileLease) => boolean, failure: string): number {
    let revoked = 0;
    for (const tile of [...this.#tiles.values()]) {
      if (!which(tile)) continue;
      revoked += 1;
      this.#failures.retry(tile, tile.attempt, failure);
    }
    return revoked;
  }

  #enqueue(tile: TileLease, end: 'front' | 'back'): void {
    tile.state = 'ready';
    const waiter = this.#queue.waiterFor(tile);
    if (waiter) return waiter.resolve(tile);
    this.#queue.push(tile, end);
    const { maxWaitMs } = tile.offer;
    if (maxWaitMs !== undefined && tile.waitTimer === undefined) {
      tile.waitTimer = setTimeout(() => this.#failures.untaken(tile), maxWaitMs);
    }
  }

  #lease(tile: TileLease, { workerId, connection }: WorkerRef): TileTask {
    const attempt = tile.handOut(holderKey(workerId, connection));
    const leaseExpiresAtMs = this.#now() + this.#leaseMs;
    tile.clearTimer();
    tile.leaseTimer = setTimeout(() => this.#failures.leaseExpired(tile, attempt, workerId, this.#leaseMs), this.#leaseMs);
    this.#log.debug({ taskId: tile.taskId, workerId, attempt }, 'tile leased');
    this.#events.emit('tile:leased', { taskId: tile.taskId, workerId, attempt });
    return tile.taskFor(attempt, leaseExpiresAtMs);
  }

  /** Forgets a tile: no timer, not in the ready queue, not in the map. */
  #settle(tile: TileLease): void {
    tile.clearTimer();
    this.#tiles.delete(tile.taskId);
    this.#queue.remove(tile);
  }
}
