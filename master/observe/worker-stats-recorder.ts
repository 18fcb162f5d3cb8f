/**
 * Keeps each worker's contribution to this master (tiles, the times the worker reported, bytes each
 * way, busy or idle, first and last seen) from the master's events, and writes it to the store's
 * worker_stats every `everyMs` and whenever a request ends, so the web client, psql users and every
 * master see the same. Totals are over this master's life (one master id, one process). A write that
 * fails is logged and made again next time: the totals are absolute, nothing is lost.
 */
import { describeError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { MasterEvents } from '../master-events.js';
import type { RequestStore, WorkerStatsRow } from '../store/request-store.js';

export interface WorkerStatsRecorderOptions {
  readonly events: MasterEvents;
  readonly store: Pick<RequestStore, 'saveWorkerStats'>;
  readonly masterId: string;
  /** WORKER_STATS_MS. */
  readonly everyMs: number;
  readonly log: Logger;
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now?: () => number;
}

/** tiles_per_minute is counted over this window. */
const RATE_WINDOW_MS = 60_000;
/** A worker not heard of for this long is no longer written (its row stays as last written). */
const FORGET_AFTER_MS = 10 * 60_000;

interface WorkerTally {
  readonly firstSeen: number;
  lastSeen: number;
  tilesDone: number;
  /** When each tile of the last RATE_WINDOW_MS was accepted. */
  readonly recent: number[];
  decodeMs: number;
  computeMs: number;
  encodeMs: number;
  bytesIn: number;
  bytesOut: number;
  /** Task ids it holds a lease on. */
  readonly leases: Set<string>;
}

export class WorkerStatsRecorder {
  readonly #options: WorkerStatsRecorderOptions;
  readonly #now: () => number;
  readonly #workers = new Map<string, WorkerTally>();
  readonly #unsubscribe: Array<() => void> = [];
  #timer: NodeJS.Timeout | undefined;
  /** The write under way (writes never overlap). */
  #writing: Promise<void> = Promise.resolve();

  constructor(options: WorkerStatsRecorderOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  start(): void {
    const { events } = this.#options;
    const on = this.#unsubscribe.push.bind(this.#unsubscribe);
    on(events.on('worker:polling', ({ workerId }) => this.#seen(workerId)));
    on(events.on('worker:attending', ({ workerId }) => this.#seen(workerId)));
    on(events.on('tile:leased', ({ workerId, taskId }) => this.#seen(workerId).leases.add(taskId)));
    on(events.on('tile:streamed', ({ workerId, bytes }) => (this.#seen(workerId).bytesIn += bytes)));
    on(events.on('tile:done', ({ workerId, taskId, resultBytes, timings }) => {
      const worker = this.#seen(workerId);
      worker.leases.delete(taskId);
      worker.tilesDone += 1;
      worker.recent.push(this.#now());
      worker.bytesOut += resultBytes ?? 0;
      worker.decodeMs += timings?.decodeMs ?? 0;
      worker.computeMs += timings?.computeMs ?? 0;
      worker.encodeMs += timings?.encodeMs ?? 0;
    }));
    on(events.on('tile:rejected', ({ workerId, taskId }) => this.#seen(workerId).leases.delete(taskId)));
    on(events.on('tile:lease-expired', ({ workerId, taskId }) => this.#workers.get(workerId)?.leases.delete(taskId)));
    on(events.on('tile:requeued', ({ taskId }) => this.#dropLeases((id) => id === taskId)));
    on(events.on('worker:gone', ({ workerId }) => this.#workers.get(workerId)?.leases.clear()));
    for (const end of ['request:completed', 'request:failed', 'request:cancelled'] as const) {
      on(events.on(end, ({ requestId }) => {
        this.#dropLeases((id) => id.startsWith(`${requestId}/`)); // task ids are "<request>/<claim>/<tile>"
        void this.flush();
      }));
    }
    this.#timer = setInterval(() => void this.flush(), this.#options.everyMs);
    this.#timer.unref();
  }

  /** Writes every worker heard of recently; resolves once written (or the failure logged). */
  flush(): Promise<void> {
    this.#writing = this.#writing.then(() => this.#write());
    return this.#writing;
  }

  /** The rows as they would be written now. */
  rows(): WorkerStatsRow[] {
    const now = this.#now();
    const rows: WorkerStatsRow[] = [];
    for (const [workerId, worker] of this.#workers) {
      if (now - worker.lastSeen > FORGET_AFTER_MS && worker.leases.size === 0) continue;
      while (worker.recent.length > 0 && worker.recent[0]! < now - RATE_WINDOW_MS) worker.recent.shift();
      rows.push({
        workerId,
        masterId: this.#options.masterId,
        busy: worker.leases.size > 0,
        tilesDone: worker.tilesDone,
        tilesPerMinute: worker.recent.length,
        decodeMs: worker.decodeMs,
        computeMs: worker.computeMs,
        encodeMs: worker.encodeMs,
        bytesIn: worker.bytesIn,
        bytesOut: worker.bytesOut,
        firstSeen: new Date(worker.firstSeen),
        lastSeen: new Date(worker.lastSeen),
      });
    }
    return rows;
  }

  /** Stops listening and writes once more. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    await this.flush();
  }

  async #write(): Promise<void> {
    const rows = this.rows();
    if (rows.length === 0) return;
    try {
      await this.#options.store.saveWorkerStats(rows);
    } catch (error) {
      this.#options.log.warn({ error: describeError(error), workers: rows.length }, 'could not write worker statistics; trying again later');
    }
  }

  #seen(workerId: string): WorkerTally {
    const now = this.#now();
    let worker = this.#workers.get(workerId);
    if (!worker) {
      worker = { firstSeen: now, lastSeen: now, tilesDone: 0, recent: [], decodeMs: 0, computeMs: 0, encodeMs: 0, bytesIn: 0, bytesOut: 0, leases: new Set() };
      this.#workers.set(workerId, worker);
    }
    worker.lastSeen = now;
    return worker;
  }

  #dropLeases(matches: (taskId: string) => boolean): void {
    for (const worker of this.#workers.values()) for (const taskId of [...worker.leases]) if (matches(taskId)) worker.leases.delete(taskId);
  }
}
