/**
 * Bounds on parked long polls: a client cannot make the master hold an unbounded number of GetTask
 * calls (each holds a timer, a waiter and an HTTP/2 stream). Per peer (one connection's address),
 * and in all; a poll over either bound is refused at once with RESOURCE_EXHAUSTED.
 */
export interface PollLimitOptions {
  /** Parked polls one peer may hold (a worker needs one per concurrency slot). */
  readonly perPeer: number;
  readonly total: number;
}

export const DEFAULT_POLL_LIMITS: PollLimitOptions = { perPeer: 64, total: 10_000 };

export class PollLimits {
  readonly #byPeer = new Map<string, number>();
  readonly #options: PollLimitOptions;
  #total = 0;

  constructor(options: PollLimitOptions = DEFAULT_POLL_LIMITS) {
    this.#options = options;
  }

  /** Takes a place for a poll from `peer`; null when a bound is reached. The release is idempotent. */
  enter(peer: string): (() => void) | null {
    const held = this.#byPeer.get(peer) ?? 0;
    if (held >= this.#options.perPeer || this.#total >= this.#options.total) return null;
    this.#byPeer.set(peer, held + 1);
    this.#total += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total -= 1;
      const left = (this.#byPeer.get(peer) ?? 1) - 1;
      if (left === 0) this.#byPeer.delete(peer);
      else this.#byPeer.set(peer, left);
    };
  }

  /** Why a poll was refused, for the caller. */
  describe(peer: string): string {
    return (this.#byPeer.get(peer) ?? 0) >= this.#options.perPeer
      ? `too many parked GetTask calls from ${peer} (at most ${this.#options.perPeer} at once)`
      : `too many parked GetTask calls (at most ${this.#options.total} at once)`;
  }
}
