/**
 * The worker_stats table (006_worker_stats.sql): one row per (worker, master), upserted by the master
 * (master/observe/worker-stats-recorder.ts) and read by the web client, psql users and every master.
 * PostgresRequestStore's saveWorkerStats and listWorkers.
 */
import type { WorkerStatsRow } from '../store/request-store.js';
import type { Queryable } from './database.js';

/** The columns of a WorkerStatsRow, named as its fields (bigints as numbers: counts stay far below 2^53). */
const WORKER_ROW = `
  worker_id                          AS "workerId",
  master_id                          AS "masterId",
  busy                               AS "busy",
  tiles_done::double precision       AS "tilesDone",
  tiles_per_minute                   AS "tilesPerMinute",
  decode_ms                          AS "decodeMs",
  compute_ms                         AS "computeMs",
  encode_ms                          AS "encodeMs",
  bytes_in::double precision         AS "bytesIn",
  bytes_out::double precision        AS "bytesOut",
  first_seen                         AS "firstSeen",
  last_seen                          AS "lastSeen"`;

/** One statement for all the rows: the arrays are unnested in step. */
const SAVE_WORKER_STATS_SQL = `
  INSERT INTO worker_stats AS ws (worker_id, master_id, busy, tiles_done, tiles_per_minute, decode_ms, compute_ms,
                                  encode_ms, bytes_in, bytes_out, first_seen, last_seen)
  SELECT * FROM unnest($1::text[], $2::text[], $3::boolean[], $4::bigint[], $5::double precision[],
                       $6::double precision[], $7::double precision[], $8::double precision[], $9::bigint[],
                       $10::bigint[], $11::timestamptz[], $12::timestamptz[])
  ON CONFLICT (worker_id, master_id) DO UPDATE
     SET busy             = EXCLUDED.busy,
         tiles_done       = EXCLUDED.tiles_done,
         tiles_per_minute = EXCLUDED.tiles_per_minute,
         decode_ms        = EXCLUDED.decode_ms,
         compute_ms       = EXCLUDED.compute_ms,
         encode_ms        = EXCLUDED.encode_ms,
         bytes_in         = EXCLUDED.bytes_in,
         bytes_out        = EXCLUDED.bytes_out,
         last_seen        = EXCLUDED.last_seen`;

const LIST_WORKERS_SQL = `
  SELECT ${WORKER_ROW} FROM worker_stats
   WHERE last_seen >= now() - $1::double precision * interval '1 millisecond'
   ORDER BY last_seen DESC, worker_id, master_id`;

/** Upserts `rows` in one statement; first_seen keeps its first value. */
export async function saveWorkerStats(db: Queryable, rows: readonly WorkerStatsRow[]): Promise<void> {
  if (rows.length === 0) return;
  const column = <K extends keyof WorkerStatsRow>(key: K): WorkerStatsRow[K][] => rows.map((row) => row[key]);
  await db.query(SAVE_WORKER_STATS_SQL, [
    column('workerId'),
    column('masterId'),
    column('busy'),
    column('tilesDone'),
    column('tilesPerMinute'),
    column('decodeMs'),
    column('computeMs'),
    column('encodeMs'),
    column('bytesIn'),
    column('bytesOut'),
    column('firstSeen'),
    column('lastSeen'),
  ]);
}

/** The workers seen within the last `seenWithinMs`, by any master, newest last_seen first. */
export async function listWorkers(db: Queryable, seenWithinMs: number): Promise<WorkerStatsRow[]> {
  if (!Number.isFinite(seenWithinMs) || seenWithinMs < 0) throw new RangeError(`listWorkers: seenWithinMs must be a number ≥ 0, not ${seenWithinMs}`);
  const { rows } = await db.query<WorkerStatsRow>(LIST_WORKERS_SQL, [seenWithinMs]);
  return rows;
}
