/**
 * The RequestStore kept in this process's memory, for one-shot runs (`tessera run`, `tessera demo`):
 * one request start to finish needs a queue, not a SQL server. It keeps the mosaic_requests table's
 * semantics (one contract test suite runs against both): ids "1", "2", …; the column defaults; a
 * claim takes the lowest pending id or a running one with a stale heartbeat; every mutation by a
 * master is fenced on its claim (id, claimed by it in that attempt, running); updated_at follows every change; onPending
 * listeners hear of inserts and releases, onFinished listeners of every end; worker statistics are
 * kept by (worker id, master id) as in the worker_stats table. Rows go in and come out as copies, jsonb columns as jsonb
 * returns them (asJsonb). Nothing outlives the process.
 */
import { asJsonb } from './jsonb.js';
import { newRequestRow } from './new-request-row.js';
import {
  checkListQuery,
  type CancelOutcome,
  type FinishedStatus,
  type MosaicRequestRow,
  type NewMosaicRequest,
  type RequestClaim,
  type RequestListQuery,
  type RequestResult,
  type RequestStore,
  type Unsubscribe,
  type WorkerStatsRow,
} from './request-store.js';
import { zeroByStatus } from './request-store.js';
import type { RequestStatus } from '../../shared/types.js';

export interface InMemoryRequestStoreOptions {
  /** The clock, in ms since the epoch; read on every operation (default: Date.now). */
  readonly now?: () => number;
  /** Where an exception thrown by an onPending listener goes (default: a process warning). */
  readonly onError?: (error: Error) => void;
}

/** Ids are bigints carried as decimal strings; anything else names no request (as in the table). */
const isId = (id: string): boolean => /^[0-9]{1,18}$/.test(id);

/** A row as handed out: a deep copy, so a caller's changes stay with the caller. */
const copyOf = (row: MosaicRequestRow): MosaicRequestRow => structuredClone(row);

export class InMemoryRequestStore implements RequestStore {
  /** By id, in insertion order, which is id order. */
  readonly #rows = new Map<string, MosaicRequestRow>();
  readonly #pendingListeners = new Set<(id: string) => void>();
  readonly #finishedListeners = new Set<(id: string, status: FinishedStatus) => void>();
  /** By worker id and master id (a NUL between them: neither may hold one in the table's text either). */
  readonly #workers = new Map<string, WorkerStatsRow>();
  readonly #now: () => number;
  readonly #onError: (error: Error) => void;
  #lastId = 0;

  constructor(options: InMemoryRequestStoreOptions = {}) {
    this.#now = options.now ?? (() => Date.now());
    this.#onError = options.onError ?? ((error) => process.emitWarning(error));
  }

  async insert(request: NewMosaicRequest): Promise<string> {
    const now = new Date(this.#now());
    this.#lastId += 1;
    const id = String(this.#lastId);
    this.#rows.set(id, newRequestRow(id, request, now));
    this.#announcePending(id);
    return id;
  }

  async claimNext(masterId: string, staleAfterMs: number): Promise<MosaicRequestRow | null> {
    const now = this.#now();
    for (const row of this.#rows.values()) {
      const stale = row.status === 'running' && (row.heartbeatAt === null || row.heartbeatAt.getTime() < now - staleAfterMs);
      if (row.status !== 'pending' && !stale) continue;
      const at = new Date(now);
      this.#change(row, at, {
        status: 'running',
        claimedBy: masterId,
        startedAt: at,
        heartbeatAt: at,
        finishedAt: null,
        attempts: row.attempts + 1,
        tilesDone: 0,
        tilesTotal: null,
        error: null,
      });
      return copyOf(row);
    }
    return null;
  }

  async heartbeat(claim: RequestClaim): Promise<boolean> {
    return this.#fenced(claim, (at) => ({ heartbeatAt: at }));
  }

  async setTilesTotal(claim: RequestClaim, total: number): Promise<boolean> {
    return this.#fenced(claim, (at) => ({ tilesTotal: total, heartbeatAt: at }));
  }

  async recordProgress(claim: RequestClaim, tilesDone: number): Promise<boolean> {
    return this.#fenced(claim, (at) => ({ tilesDone, heartbeatAt: at }));
  }

  async complete(claim: RequestClaim, result: RequestResult): Promise<boolean> {
    return this.#finishing(claim, 'completed', (at) => ({
      status: 'completed',
      outputDir: result.outputDir,
      outputs: asJsonb(result.outputs ?? null),
      workerTiles: asJsonb(result.workerTiles) as MosaicRequestRow['workerTiles'],
      timings: asJsonb(result.timings),
      tilesDone: result.tilesDone,
      uploadUrls: result.uploadUrls ? (asJsonb(result.uploadUrls) as MosaicRequestRow['uploadUrls']) : null,
      uploadError: result.uploadError ?? null,
      verification: result.verification ? (asJsonb(result.verification) as MosaicRequestRow['verification']) : null,
      error: null,
      finishedAt: at,
    }));
  }

  async fail(claim: RequestClaim, error: string): Promise<boolean> {
    return this.#finishing(claim, 'failed', (at) => ({ status: 'failed', error, finishedAt: at }));
  }

  async release(claim: RequestClaim): Promise<boolean> {
    const released = this.#fenced(claim, () => ({ status: 'pending', claimedBy: null, startedAt: null, heartbeatAt: null }));
    if (released) this.#announcePending(claim.id);
    return released;
  }

  async cancel(id: string): Promise<CancelOutcome> {
    const row = isId(id) ? this.#rows.get(id) : undefined;
    if (!row) return 'not-found';
    if (row.status !== 'pending' && row.status !== 'running') return 'finished';
    const at = new Date(this.#now());
    this.#change(row, at, { status: 'cancelled', error: null, finishedAt: at });
    this.#announce(this.#finishedListeners, (listener) => listener(id, 'cancelled'));
    return 'cancelled';
  }

  async get(id: string): Promise<MosaicRequestRow | null> {
    const row = isId(id) ? this.#rows.get(id) : undefined;
    return row ? copyOf(row) : null;
  }

  async countByStatus(): Promise<Record<RequestStatus, number>> {
    const counts = zeroByStatus();
    for (const row of this.#rows.values()) counts[row.status] += 1;
    return counts;
  }

  async list(query: RequestListQuery = {}): Promise<MosaicRequestRow[]> {
    const { status, limit, before } = checkListQuery(query);
    return [...this.#rows.values()]
      .reverse()
      .filter((row) => (status === null || row.status === status) && (before === null || BigInt(row.id) < BigInt(before)))
      .slice(0, limit)
      .map(copyOf);
  }

  async onPending(listener: (id: string) => void): Promise<Unsubscribe> {
    return subscribe(this.#pendingListeners, (id: string) => listener(id));
  }

  async onFinished(listener: (id: string, status: FinishedStatus) => void): Promise<Unsubscribe> {
    return subscribe(this.#finishedListeners, (id: string, status: FinishedStatus) => listener(id, status));
  }

  async saveWorkerStats(rows: readonly WorkerStatsRow[]): Promise<void> {
    for (const row of rows) {
      const key = `${row.workerId}\0${row.masterId}`;
      const firstSeen = this.#workers.get(key)?.firstSeen ?? row.firstSeen;
      this.#workers.set(key, structuredClone({ ...row, firstSeen }));
    }
  }

  async listWorkers(seenWithinMs: number): Promise<WorkerStatsRow[]> {
    if (!Number.isFinite(seenWithinMs) || seenWithinMs < 0) throw new RangeError(`listWorkers: seenWithinMs must be a number ≥ 0, not ${seenWithinMs}`);
    const since = this.#now() - seenWithinMs;
    return [...this.#workers.values()]
      .filter((row) => row.lastSeen.getTime() >= since)
      .sort((a, b) => b.lastSeen.getTime() - a.lastSeen.getTime() || a.workerId.localeCompare(b.workerId) || a.masterId.localeCompare(b.masterId))
      .map((row) => structuredClone(row));
  }

  /** A fenced write that ends the request, told to the onFinished listeners once it landed. */
  #finishing(claim: RequestClaim, status: FinishedStatus, changes: (at: Date) => Partial<MosaicRequestRow>): boolean {
    const landed = this.#fenced(claim, changes);
    if (landed) this.#announce(this.#finishedListeners, (listener) => listener(claim.id, status));
    return landed;
  }

  /** Applies `changes` when the claim is held (running, claimed by that master in that attempt); false otherwise. */
  #fenced(claim: RequestClaim, changes: (at: Date) => Partial<MosaicRequestRow>): boolean {
    const row = isId(claim.id) ? this.#rows.get(claim.id) : undefined;
    if (!row || row.status !== 'running' || row.claimedBy !== claim.masterId || row.attempts !== claim.attempt) return false;
    const at = new Date(this.#now());
    this.#change(row, at, changes(at));
    return true;
  }

  /** Every change refreshes updated_at, as the table's trigger does. */
  #change(row: MosaicRequestRow, at: Date, changes: Partial<MosaicRequestRow>): void {
    Object.assign(row, changes, { updatedAt: at });
  }

  /**
   * Tells the listeners subscribed now, once the change is made and outside the operation (like a
   * NOTIFY after COMMIT): a listener that throws or calls back into the store cannot break it.
   */
  #announcePending(id: string): void {
    this.#announce(this.#pendingListeners, (listener) => listener(id));
  }

  #announce<L>(listeners: Set<L>, call: (listener: L) => void): void {
    const subscribers = [...listeners];
    queueMicrotask(() => {
      for (const subscriber of subscribers) {
        if (!listeners.has(subscriber)) continue; // unsubscribed meanwhile
        try {
          call(subscriber);
        } catch (error) {
          this.#onError(error instanceof Error ? error : new Error(String(error)));
        }
      }
    });
  }
}

/** Adds a wrapped `listener` (the same function may subscribe twice and unsubscribe each on its own). */
function subscribe<L>(listeners: Set<L>, wrapped: L): Unsubscribe {
  listeners.add(wrapped);
  return async () => {
    listeners.delete(wrapped);
  };
}
