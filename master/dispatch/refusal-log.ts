/**
 * Logs refused calls once per peer per interval: a misconfigured worker retrying every few seconds,
 * or a scanner, must not flood the log. The line names the peer (its address, not its port: a
 * client reconnecting gets a new one), the method and why; never what the client sent. The set of
 * peers remembered is bounded, so many addresses cannot grow it without limit.
 */
import type { Logger } from '../../shared/logger.js';

export interface RefusalLogOptions {
  readonly log: Logger;
  /** One line per peer per this many milliseconds; the refusals in between are counted in the next. */
  readonly intervalMs?: number;
  /** Peers remembered at most (the oldest is forgotten first). */
  readonly maxPeers?: number;
  readonly now?: () => number;
}

interface PeerEntry {
  loggedAt: number;
  suppressed: number;
}

export class RefusalLog {
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #maxPeers: number;
  readonly #now: () => number;
  readonly #peers = new Map<string, PeerEntry>();

  constructor(options: RefusalLogOptions) {
    this.#log = options.log;
    this.#intervalMs = options.intervalMs ?? 60_000;
    this.#maxPeers = options.maxPeers ?? 1_024;
    this.#now = options.now ?? Date.now;
  }

  /** Records one refused call from `peer` (an address without port); logs it unless logged lately. */
  refused(peer: string, method: string, reason: string): void {
    const now = this.#now();
    const entry = this.#peers.get(peer);
    if (entry && now - entry.loggedAt < this.#intervalMs) {
      entry.suppressed += 1;
      return;
    }
    const suppressed = entry?.suppressed ?? 0;
    this.#peers.delete(peer); // re-inserted last: the map stays in order of the last line logged
    this.#peers.set(peer, { loggedAt: now, suppressed: 0 });
    this.#forgetOldest();
    this.#log.warn(
      { peer, method, reason, refusedSinceLastLine: suppressed, quietForMs: this.#intervalMs },
      'refused an unauthenticated TileService call',
    );
  }

  /** Peers remembered now (for tests of the bound). */
  get size(): number {
    return this.#peers.size;
  }

  #forgetOldest(): void {
    for (const peer of this.#peers.keys()) {
      if (this.#peers.size <= this.#maxPeers) return;
      this.#peers.delete(peer);
    }
  }
}
