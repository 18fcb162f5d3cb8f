/**
 * The mosaic_requests queue: insert a request, claim the next one (one statement, SKIP LOCKED), and
 * record heartbeats, progress and the outcome on the claimed row. Every mutation by a master is fenced
 * on (id, claimed_by, status = 'running'): a master that lost its claim changes nothing and gets false.
 * PostgresRequestStore is the RequestStore (master/store/request-store.ts) kept in PostgreSQL.
 */
import type { RequestStatus } from '../../shared/types.js';
import {
  checkListQuery,
  zeroByStatus,
  type CancelOutcome,
  type FinishedStatus,
  type RequestClaim,
  type RequestListQuery,
  type RequestStore,
  type Unsubscribe,
  type WorkerStatsRow,
} from '../store/request-store.js';
import type { Database } from './database.js';
import type { VerificationSummary } from '../verification-tally.js';
import { listWorkers, saveWorkerStats } from './worker-stats-table.js';
import { parseFinished } from './finished-notice.js';
import { CANCEL_SQL, CLAIM_NEXT_SQL, COMPLETE_SQL, COUNT_BY_STATUS_SQL, FAIL_SQL, GET_SQL, HEARTBEAT_SQL, LIST_SQL, RECORD_PROGRESS_SQL, RELEASE_SQL, SET_TILES_TOTAL_SQL } from './request-sql.js';

/** The contract, for the modules that take the row types from here. */
export type { RequestStore } from '../store/request-store.js';

/** NOTIFY channel: payload is the id of a request waiting to be claimed (inserted, or handed back). */
export const REQUEST_INSERTED_CHANNEL = 'tessera_request_inserted';
/** NOTIFY channel: payload is JSON `{"id": "<id>", "status": "completed" | "failed" | "cancelled"}`. */
export const REQUEST_FINISHED_CHANNEL = 'tessera_request_finished';

export interface MosaicRequestRow {
  id: string;
  source: string;
  /** As inserted: meant to be an object from band name to band reference; validated by the master. */
  bands: unknown;
  indices: string[];
  /** Null: not said (a stac request takes the item's; others 0). */
  reflectanceOffset: number | null;
  stripRows: number | null;
  /** Output formats: png, cog (the column defaults to {png}). */
  formats: string[];
  /** earthdaily: the mosaic URL (null: EARTHDAILY_MOSAIC_URL) and the box, WGS84 degrees. */
  url: string | null;
  ulLat: number | null;
  ulLng: number | null;
  lrLat: number | null;
  lrLng: number | null;
  /** earthdaily: output pixel size in metres. */
  resolution: number | null;
  /** Custom band math (output "expr"), and the [lo, hi] its codes span (null: [−1, 1]). */
  expression: string | null;
  range: number[] | null;
  /** SCL classes to mask: null the default ones (where there is an scl band), [] none. */
  maskClasses: number[] | null;
  /** Uploaded output URLs by file name, when an upload is configured. */
  uploadUrls: Record<string, string> | null;
  uploadError: string | null;
  status: RequestStatus;
  tilesDone: number;
  tilesTotal: number | null;
  outputDir: string | null;
  outputs: unknown;
  workerTiles: Record<string, number> | null;
  /** What verifying the workers' answers found (VERIFY_FRACTION > 0), once completed. */
  verification: VerificationSummary | null;
  timings: unknown;
  error: string | null;
  claimedBy: string | null;
  attempts: number;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  heartbeatAt: Date | null;
  updatedAt: Date;
}

export interface NewMosaicRequest {
  source?: string;
  bands?: Record<string, string>;
  url?: string | null;
  ulLat?: number | null;
  ulLng?: number | null;
  lrLat?: number | null;
  lrLng?: number | null;
  resolution?: number | null;
  indices: string[];
  reflectanceOffset?: number | null;
  stripRows?: number | null;
  /** Absent or null: the column default, {png}. */
  formats?: string[] | null;
  expression?: string | null;
  range?: number[] | null;
  maskClasses?: number[] | null;
}

export interface RequestResult {
  outputDir: string;
  outputs: unknown;
  workerTiles: Record<string, number>;
  timings: Record<string, number>;
  tilesDone: number;
  uploadUrls?: Record<string, string> | null;
  uploadError?: string | null;
  /** Absent or null: verification was off. */
  verification?: VerificationSummary | null;
}

/** Ids are bigints carried as decimal strings; anything else names no request. */
const isId = (id: string): boolean => /^[0-9]{1,18}$/.test(id);

export class PostgresRequestStore implements RequestStore {
  constructor(private readonly db: Database) {}

  /** Inserts a pending request; resolves to its id. Omitted options take the column defaults. */
  async insert(req: NewMosaicRequest): Promise<string> {
    // Column → value; options left undefined are left out so that the column default applies.
    const given: Record<string, unknown> = {
      bands: req.bands === undefined ? undefined : JSON.stringify(req.bands),
      indices: req.indices,
      source: req.source,
      reflectance_offset: req.reflectanceOffset,
      strip_rows: req.stripRows,
      formats: req.formats ?? undefined,
      url: req.url,
      ul_lat: req.ulLat,
      ul_lng: req.ulLng,
      lr_lat: req.lrLat,
      lr_lng: req.lrLng,
      resolution: req.resolution,
      expression: req.expression,
      range: req.range,
      mask_classes: req.maskClasses,
    };
    const columns = Object.keys(given).filter((column) => given[column] !== undefined);
    const values = columns.map((column) => given[column]);
    const placeholders = values.map((_, i) => `$${i + 1}`).join(', ');
    const { rows } = await this.db.query<{ id: string }>(
      `INSERT INTO mosaic_requests (${columns.join(', ')}) VALUES (${placeholders}) RETURNING id::text AS id`,
      values,
    );
    return rows[0]!.id;
  }

  /**
   * Claims the oldest pending request, or a running one whose heartbeat is older than `staleAfterMs`
   * (its master died), for `masterId`; null when there is none.
   */
  async claimNext(masterId: string, staleAfterMs: number): Promise<MosaicRequestRow | null> {
    const { rows } = await this.db.query<MosaicRequestRow>(CLAIM_NEXT_SQL, [masterId, staleAfterMs]);
    return rows[0] ?? null;
  }

  /** Proves `masterId` still works on the request; false when it no longer holds it. */
  heartbeat(claim: RequestClaim): Promise<boolean> {
    return this.fenced(HEARTBEAT_SQL, claim);
  }

  setTilesTotal(claim: RequestClaim, total: number): Promise<boolean> {
    return this.fenced(SET_TILES_TOTAL_SQL, claim, total);
  }

  /** Records how many tiles are done (and counts as a heartbeat). */
  recordProgress(claim: RequestClaim, tilesDone: number): Promise<boolean> {
    return this.fenced(RECORD_PROGRESS_SQL, claim, tilesDone);
  }

  complete(claim: RequestClaim, result: RequestResult): Promise<boolean> {
    return this.fenced(
      COMPLETE_SQL,
      claim,
      result.outputDir,
      JSON.stringify(result.outputs ?? null),
      JSON.stringify(result.workerTiles),
      JSON.stringify(result.timings),
      result.tilesDone,
      result.uploadUrls ? JSON.stringify(result.uploadUrls) : null,
      result.uploadError ?? null,
      result.verification ? JSON.stringify(result.verification) : null,
    );
  }

  /** Marks the request failed with `error`, a message meant for the user. */
  fail(claim: RequestClaim, error: string): Promise<boolean> {
    return this.fenced(FAIL_SQL, claim, error);
  }

  /** Hands the request back (pending, unclaimed) for a master that stops before finishing it. */
  release(claim: RequestClaim): Promise<boolean> {
    return this.fenced(RELEASE_SQL, claim);
  }

  async cancel(id: string): Promise<CancelOutcome> {
    if (!isId(id)) return 'not-found';
    const { rows } = await this.db.query<{ cancelled: boolean; found: boolean }>(CANCEL_SQL, [id]);
    const answer = rows[0];
    if (answer?.cancelled) return 'cancelled';
    return answer?.found ? 'finished' : 'not-found';
  }

  async get(id: string): Promise<MosaicRequestRow | null> {
    if (!isId(id)) return null;
    const { rows } = await this.db.query<MosaicRequestRow>(GET_SQL, [id]);
    return rows[0] ?? null;
  }

  async countByStatus(): Promise<Record<RequestStatus, number>> {
    const { rows } = await this.db.query<{ status: RequestStatus; count: number }>(COUNT_BY_STATUS_SQL);
    const counts = zeroByStatus();
    for (const { status, count } of rows) counts[status] = count;
    return counts;
  }

  /** A page of requests, newest first. */
  async list(query: RequestListQuery = {}): Promise<MosaicRequestRow[]> {
    const { status, limit, before } = checkListQuery(query);
    const { rows } = await this.db.query<MosaicRequestRow>(LIST_SQL, [limit, status, before]);
    return rows;
  }

  /** LISTENs on REQUEST_INSERTED_CHANNEL (the triggers fire it on insert and on release). */
  onPending(listener: (id: string) => void): Promise<Unsubscribe> {
    return this.db.listen(REQUEST_INSERTED_CHANNEL, listener);
  }

  /** LISTENs on REQUEST_FINISHED_CHANNEL (the trigger fires it when the status becomes a final one). */
  onFinished(listener: (id: string, status: FinishedStatus) => void): Promise<Unsubscribe> {
    return this.db.listen(REQUEST_FINISHED_CHANNEL, (payload) => {
      const note = parseFinished(payload);
      if (note) listener(note.id, note.status);
    });
  }

  saveWorkerStats(rows: readonly WorkerStatsRow[]): Promise<void> {
    return saveWorkerStats(this.db, rows);
  }

  listWorkers(seenWithinMs: number): Promise<WorkerStatsRow[]> {
    return listWorkers(this.db, seenWithinMs);
  }

  private async fenced(sql: string, claim: RequestClaim, ...rest: unknown[]): Promise<boolean> {
    if (!isId(claim.id)) return false;
    const { rowCount } = await this.db.query(sql, [claim.id, claim.masterId, claim.attempt, ...rest]);
    return rowCount === 1;
  }
}
