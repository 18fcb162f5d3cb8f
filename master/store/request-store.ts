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
import type { MosaicRequestRow, NewMosaicRequest, RequestResult } from '../db/request-store.js';
import type { RequestStatus } from '../../shared/types.js';

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
  /** The request, or null when no request has that id (also for a string that is no id at all). */
  get(id: string): Promise<MosaicRequestRow | null>;
  /** A page of requests, newest first (see RequestListQuery); a RangeError for a malformed query. */
  list(query?: RequestListQuery): Promise<MosaicRequestRow[]>;
  /**
   * Calls `listener` with the id of each request that becomes pending (inserted, or released);
   * resolves once that is in effect, to its unsubscribe. A wake-up, not a guarantee: PostgreSQL
   * loses notifications while its LISTEN connection is down and the embedded one delivers none, so
   * a claimer also polls.
   */
  onPending(listener: (id: string) => void): Promise<Unsubscribe>;
}
