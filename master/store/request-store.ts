/**
 * What the master (claimer, runner) and the CLI (submit, status, watch) need from wherever mosaic
 * requests are kept: the queue's operations, independent of PostgreSQL. Two implementations keep the
 * same semantics (one contract test suite runs against both):
 * - PostgresRequestStore (master/db/request-store.ts): the mosaic_requests table, central or embedded;
 * - InMemoryRequestStore (./in-memory-request-store.ts): one process's memory, for one-shot runs.
 *
 * Every mutation by a master is fenced on its claim: the id, claimed by that master, in that claim
 * (the row's attempt number when it was claimed), still running. A master that lost its claim —
 * taken over, or finished — changes nothing and gets false, even if the same master id claimed the
 * request again since. Rows handed out are copies.
 *
 * The row types stay beside the SQL that produces them (column ↔ field); they are re-exported here
 * so that code written against the contract needs no database module.
 */
import { REQUEST_STATUSES, type RequestStatus } from '../../shared/types.js';
import type { MosaicRequestRow, NewMosaicRequest, RequestResult } from '../db/request-store.js';

export type { MosaicRequestRow, NewMosaicRequest, RequestResult } from '../db/request-store.js';

/** One master's hold on one request: which request, which master, and which claim of it. */
export interface RequestClaim {
  readonly id: string;
  readonly masterId: string;
  /** The row's attempts when claimed: a later claim, by any master, has a larger one. */
  readonly attempt: number;
}

/** The claim a row returned by claimNext stands for. */
export function claimOf(row: Pick<MosaicRequestRow, 'id' | 'claimedBy' | 'attempts'>): RequestClaim {
  if (row.claimedBy === null) throw new RangeError(`request ${row.id} is not claimed`);
  return { id: row.id, masterId: row.claimedBy, attempt: row.attempts };
}

/** Which requests list() returns: newest first, at most `limit` (default 20), older than `before`, of one status. */
export interface RequestListQuery {
  readonly status?: RequestStatus | undefined;
  readonly limit?: number | undefined;
  /** An id: only requests with a smaller one (the next page after a page ending with it). */
  readonly before?: string | undefined;
}

/** The query with its default, or a RangeError naming what is wrong (both stores check alike). */
export function checkListQuery(query: RequestListQuery): { status: RequestStatus | null; limit: number; before: string | null } {
  const limit = query.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`list: limit must be a whole number ≥ 0, not ${limit}`);
  if (query.before !== undefined && !/^[0-9]{1,18}$/.test(query.before)) throw new RangeError(`list: before must be a request id, not ${JSON.stringify(query.before)}`);
  return { status: query.status ?? null, limit, before: query.before ?? null };
}

/** One worker's contribution as one master saw it: a row of the worker_stats table (006_worker_stats.sql). */
export interface WorkerStatsRow {
  readonly workerId: string;
  readonly masterId: string;
  /** It held a tile when the row was written. */
  readonly busy: boolean;
  /** Tiles whose result the master accepted from it. */
  readonly tilesDone: number;
  /** Tiles accepted over the minute before the row was written. */
  readonly tilesPerMinute: number;
  /** Totals of the times the worker reported in its accepted results, ms. */
  readonly decodeMs: number;
  readonly computeMs: number;
  readonly encodeMs: number;
  /** Source bytes streamed to it. */
  readonly bytesIn: number;
  /** Result bytes it sent back in accepted results. */
  readonly bytesOut: number;
  readonly firstSeen: Date;
  readonly lastSeen: Date;
}

/** What cancel did: cancelled it (it was pending or running), found no such request, or found it ended already. */
export type CancelOutcome = 'cancelled' | 'not-found' | 'finished';

/** Zero of every status, for countByStatus to fill in. */
export function zeroByStatus(): Record<RequestStatus, number> {
  return Object.fromEntries(REQUEST_STATUSES.map((status) => [status, 0])) as Record<RequestStatus, number>;
}

/** The statuses a request ends in. */
export type FinishedStatus = 'completed' | 'failed' | 'cancelled';

/**
 * Whether `row` is completed or failed (`status`, if given) under `claim`: the status was written
 * while that claim held the request, by its holder, and nobody has claimed it since.
 */
export function endedUnderClaim(row: Pick<MosaicRequestRow, 'status' | 'claimedBy' | 'attempts'>, claim: RequestClaim, status?: 'completed' | 'failed'): boolean {
  const ended = status === undefined ? row.status === 'completed' || row.status === 'failed' : row.status === status;
  return ended && row.claimedBy === claim.masterId && row.attempts === claim.attempt;
}

/** Ends a subscription; resolves once nothing more is delivered to it. */
export type Unsubscribe = () => Promise<void>;

export interface RequestStore {
  /**
   * Inserts a pending request; resolves to its id (a decimal string, larger than every earlier id).
   * Omitted options take the column defaults: source 'sentinel2', bands {}, indices {ndvi},
   * reflectance offset 0, the rest null.
   */
  insert(request: NewMosaicRequest): Promise<string>;
  /**
   * Claims the oldest (lowest id) request that is pending, or running with a heartbeat older than
   * `staleAfterMs` (its master died), for `masterId`: running, attempts + 1, progress reset. Null
   * when there is none. Two concurrent calls never get the same request.
   */
  claimNext(masterId: string, staleAfterMs: number): Promise<MosaicRequestRow | null>;
  /** Proves the claim is still worked on; false when it is no longer held (the run must stop). */
  heartbeat(claim: RequestClaim): Promise<boolean>;
  /** Records how many tiles the request has (and counts as a heartbeat). */
  setTilesTotal(claim: RequestClaim, total: number): Promise<boolean>;
  /** Records how many tiles are done (and counts as a heartbeat). */
  recordProgress(claim: RequestClaim, tilesDone: number): Promise<boolean>;
  /** Marks the request completed with its outputs. */
  complete(claim: RequestClaim, result: RequestResult): Promise<boolean>;
  /** Marks the request failed with `error`, a message meant for the user. */
  fail(claim: RequestClaim, error: string): Promise<boolean>;
  /** Hands the request back (pending, unclaimed) for a master that stops before finishing it. */
  release(claim: RequestClaim): Promise<boolean>;
  /**
   * Cancels a pending or running request for a user: `cancelled`, finished_at set, error null. A
   * pending one is never claimed; the master running one finds its claim gone (its fenced writes
   * answer false) and stops, recording nothing more. 'finished' when it had ended already
   * (completed, failed or cancelled); 'not-found' when no request has that id.
   */
  cancel(id: string): Promise<CancelOutcome>;
  /** The request, or null when no request has that id (also for a string that is no id at all). */
  get(id: string): Promise<MosaicRequestRow | null>;
  /** How many requests have each status (every status present, 0 for none): queue depth for metrics. */
  countByStatus(): Promise<Record<RequestStatus, number>>;
  /** A page of requests, newest first (see RequestListQuery); a RangeError for a malformed query. */
  list(query?: RequestListQuery): Promise<MosaicRequestRow[]>;
  /**
   * Calls `listener` with the id of each request that becomes pending (inserted, or released);
   * resolves once that is in effect, to its unsubscribe. A wake-up, not a guarantee: PostgreSQL
   * loses notifications while its LISTEN connection is down and the embedded one delivers none, so
   * a claimer also polls.
   */
  onPending(listener: (id: string) => void): Promise<Unsubscribe>;
  /**
   * Calls `listener` with each request that ends (completed, failed, cancelled) and how; resolves
   * once that is in effect, to its unsubscribe. A wake-up, like onPending: the embedded database
   * delivers none, so whoever must know also reads the row (a running master's fenced writes).
   */
  onFinished(listener: (id: string, status: FinishedStatus) => void): Promise<Unsubscribe>;
  /**
   * Upserts the worker_stats rows of these workers (key: worker id and master id); first_seen
   * keeps its first value, every other column takes the one given.
   */
  saveWorkerStats(rows: readonly WorkerStatsRow[]): Promise<void>;
  /** The workers seen (last_seen) within the last `seenWithinMs`, by any master, newest last_seen first. */
  listWorkers(seenWithinMs: number): Promise<WorkerStatsRow[]>;
}
