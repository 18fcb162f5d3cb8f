/**
 * Live request changes for the pages (GET /api/events): while anyone listens, reads the newest
 * requests and the running ones every `intervalMs` and hands on each row whose updated_at moved
 * since the last look. Polling, not NOTIFY: the embedded database delivers no notifications, and
 * progress (tiles_done) is never notified anyway. One poll serves every listener.
 */
import type { MosaicRequestRow, RequestStore } from '../master/store/request-store.js';

export type FeedListener = (row: MosaicRequestRow) => void;

export interface RequestFeedOptions {
  readonly store: RequestStore;
  readonly intervalMs: number;
  /** How many of the newest requests each poll reads (the running ones come on top). */
  readonly newest: number;
  readonly onError: (error: unknown) => void;
}

export class RequestFeed {
  readonly #listeners = new Set<FeedListener>();
  /** updated_at (ms) by request id, as last handed on. */
  readonly #seen = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(private readonly options: RequestFeedOptions) {}

  /** Starts polling with the first listener; the returned function removes it (the last one stops the polls). */
  subscribe(listener: FeedListener): () => void {
    this.#listeners.add(listener);
    if (this.#timer === undefined && !this.#closed) this.#schedule();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#stop();
    };
  }

  close(): void {
    this.#closed = true;
    this.#stop();
    this.#listeners.clear();
  }

  #stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    this.#timer = setTimeout(() => void this.#poll(), this.options.intervalMs);
  }

  async #poll(): Promise<void> {
    try {
      const { store, newest } = this.options;
      const [recent, running] = await Promise.all([store.list({ limit: newest }), store.list({ status: 'running', limit: 1000 })]);
      const rows = new Map([...recent, ...running].map((row) => [row.id, row]));
      for (const row of rows.values()) {
        const stamp = row.updatedAt.getTime();
        if (this.#seen.get(row.id) === stamp) continue;
        this.#seen.set(row.id, stamp);
        for (const listener of [...this.#listeners]) listener(row);
      }
      for (const id of this.#seen.keys()) if (!rows.has(id)) this.#seen.delete(id);
    } catch (error) {
      this.options.onError(error);
    }
    if (this.#listeners.size > 0 && !this.#closed) this.#schedule();
  }
}
