/**
 * Retention's one statement: deletes up to `limit` completed, failed or cancelled requests that finished more
 * than a number of days ago, and returns their output folders for the caller to remove. The rows
 * are locked FOR UPDATE SKIP LOCKED, so masters purging at the same time take disjoint batches and
 * every folder is handed to exactly one of them; pending and running rows are never chosen (and a
 * row whose status changed meanwhile is re-checked by the DELETE itself).
 */
import type { Queryable } from './database.js';

/** A deleted request: its id and the folder its outputs were written to (null: none recorded). */
export interface PurgedRequest {
  readonly id: string;
  readonly outputDir: string | null;
}

/** $1 = age in days (finished_at, or updated_at for a row finished by hand without it), $2 = batch size. */
export const PURGE_FINISHED_SQL = `
  WITH doomed AS (
    SELECT id
      FROM mosaic_requests
     WHERE status IN ('completed', 'failed', 'cancelled')
       AND COALESCE(finished_at, updated_at) < now() - $1::double precision * interval '1 day'
     ORDER BY id
     LIMIT $2
       FOR UPDATE SKIP LOCKED)
  DELETE FROM mosaic_requests AS r
   USING doomed
   WHERE r.id = doomed.id
     AND r.status IN ('completed', 'failed', 'cancelled')
  RETURNING r.id::text AS "id", r.output_dir AS "outputDir"`;

/** The finished requests of the mosaic_requests table, purged a batch at a time. */
export class PostgresRequestPurge {
  constructor(private readonly db: Queryable) {}

  /** Deletes up to `limit` requests finished more than `olderThanDays` days ago; resolves to them. */
  async purgeFinished(olderThanDays: number, limit: number): Promise<PurgedRequest[]> {
    const { rows } = await this.db.query<PurgedRequest>(PURGE_FINISHED_SQL, [olderThanDays, limit]);
    return rows;
  }
}
