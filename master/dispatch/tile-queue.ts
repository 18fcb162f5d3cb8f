/**
 * The dispatcher's two queues: tiles ready for a worker, and workers' long polls waiting for a tile.
 * A tile goes only to a worker it accepts (`eligible`: its offer's own predicate, e.g. "not the
 * worker that computed the first result", and the run's bans); a poll takes the first ready tile it
 * may have, and a new tile the first waiting poll that may have it.
 */
import type { TileLease, WorkerRef } from './tile-lease.js';

export interface Waiter {
  readonly worker: WorkerRef;
  readonly signal: AbortSignal;
  resolve(tile: TileLease | null): void;
}

export class TileQueue {
  readonly #ready: TileLease[] = [];
  readonly #waiters: Waiter[] = [];
  readonly #eligible: (tile: TileLease, worker: WorkerRef) => boolean;

  constructor(eligible: (tile: TileLease, worker: WorkerRef) => boolean) {
    this.#eligible = eligible;
  }

  get readyCount(): number {
    return this.#ready.length;
  }

  get waitingCount(): number {
    return this.#waiters.length;
  }

  /** The first ready tile `worker` may have, out of the queue; undefined when there is none. */
  takeFor(worker: WorkerRef): TileLease | undefined {
    const at = this.#ready.findIndex((tile) => this.#eligible(tile, worker));
    if (at < 0) return undefined;
    return this.#ready.splice(at, 1)[0];
  }

  /** The first live waiting poll that may have `tile`, out of the queue (cancelled ones are dropped). */
  waiterFor(tile: TileLease): Waiter | undefined {
    for (let at = 0; at < this.#waiters.length; ) {
      const waiter = this.#waiters[at]!;
      if (waiter.signal.aborted) {
        this.#waiters.splice(at, 1);
        continue;
      }
      if (this.#eligible(tile, waiter.worker)) {
        this.#waiters.splice(at, 1);
        return waiter;
      }
      at += 1;
    }
    return undefined;
  }

  push(tile: TileLease, end: 'front' | 'back'): void {
    if (end === 'front') this.#ready.unshift(tile);
    else this.#ready.push(tile);
  }

  /** Takes a tile out of the ready queue; true when it was there. */
  remove(tile: TileLease): boolean {
    const at = this.#ready.indexOf(tile);
    if (at < 0) return false;
    this.#ready.splice(at, 1);
    return true;
  }

  /**
   * Parks `worker`'s poll until a tile it may have is offered (resolves with it, out of the queue),
   * or `holdMs` pass or `signal` aborts (null).
   */
  wait(worker: WorkerRef, holdMs: number, signal: AbortSignal): Promise<TileLease | null> {
    return new Promise((resolve) => {
      const finish = (tile: TileLease | null): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(tile);
      };
      const waiter: Waiter = { worker, signal, resolve: finish };
      const onAbort = (): void => {
        const at = this.#waiters.indexOf(waiter);
        if (at >= 0) this.#waiters.splice(at, 1);
        finish(null);
      };
      const timer = setTimeout(onAbort, holdMs);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Every waiting poll, out of the queue. */
  drainWaiters(): Waiter[] {
    return this.#waiters.splice(0);
  }
}
