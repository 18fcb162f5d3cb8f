/**
 * The SQL of the mosaic_requests queue (PostgresRequestStore in request-store.ts runs it): the row's
 * columns as its fields, the fence every master mutation carries, the claim (one statement, SKIP
 * LOCKED), the fenced updates of a run, cancel, and the reads.
 */

/** The columns of a MosaicRequestRow, named as its fields. */
const ROW = `
  id::text           AS "id",
  source             AS "source",
  bands              AS "bands",
  indices            AS "indices",
  reflectance_offset AS "reflectanceOffset",
  strip_rows         AS "stripRows",
  formats            AS "formats",
  url                AS "url",
  ul_lat             AS "ulLat",
  ul_lng             AS "ulLng",
  lr_lat             AS "lrLat",
  lr_lng             AS "lrLng",
  resolution         AS "resolution",
  expression         AS "expression",
  range              AS "range",
  mask_classes       AS "maskClasses",
  upload_urls        AS "uploadUrls",
  upload_error       AS "uploadError",
  status             AS "status",
  tiles_done         AS "tilesDone",
  tiles_total        AS "tilesTotal",
  output_dir         AS "outputDir",
  outputs            AS "outputs",
  worker_tiles       AS "workerTiles",
  verification       AS "verification",
  timings            AS "timings",
  error              AS "error",
  claimed_by         AS "claimedBy",
  attempts           AS "attempts",
  created_at         AS "createdAt",
  started_at         AS "startedAt",
  finished_at        AS "finishedAt",
  heartbeat_at       AS "heartbeatAt",
  updated_at         AS "updatedAt"`;

/** The fence on every mutation by a master: $1 = id, $2 = master id, $3 = the claim's attempt. */
const FENCE = `id = $1 AND claimed_by = $2 AND attempts = $3 AND status = 'running'`;

export const CLAIM_NEXT_SQL = `
  UPDATE mosaic_requests
     SET status       = 'running',
         claimed_by   = $1,
         started_at   = now(),
         heartbeat_at = now(),
         finished_at  = NULL,
         attempts     = attempts + 1,
         tiles_done   = 0,
         tiles_total  = NULL,
         error        = NULL
   WHERE id = (
           SELECT id
             FROM mosaic_requests
            WHERE status = 'pending'
               OR (status = 'running'
                   AND (heartbeat_at IS NULL OR heartbeat_at < now() - $2::double precision * interval '1 millisecond'))
            ORDER BY id
            LIMIT 1
              FOR UPDATE SKIP LOCKED)
  RETURNING ${ROW}`;

export const HEARTBEAT_SQL = `
  UPDATE mosaic_requests SET heartbeat_at = now()
   WHERE ${FENCE}`;

export const SET_TILES_TOTAL_SQL = `
  UPDATE mosaic_requests SET tiles_total = $4, heartbeat_at = now()
   WHERE ${FENCE}`;

export const RECORD_PROGRESS_SQL = `
  UPDATE mosaic_requests SET tiles_done = $4, heartbeat_at = now()
   WHERE ${FENCE}`;

export const COMPLETE_SQL = `
  UPDATE mosaic_requests
     SET status       = 'completed',
         output_dir   = $4,
         outputs      = $5::jsonb,
         worker_tiles = $6::jsonb,
         timings      = $7::jsonb,
         tiles_done   = $8,
         upload_urls  = $9::jsonb,
         upload_error = $10,
         verification = $11::jsonb,
         error        = NULL,
         finished_at  = now()
   WHERE ${FENCE}`;

export const FAIL_SQL = `
  UPDATE mosaic_requests
     SET status      = 'failed',
         error       = $4,
         finished_at = now()
   WHERE ${FENCE}`;

export const RELEASE_SQL = `
  UPDATE mosaic_requests
     SET status       = 'pending',
         claimed_by   = NULL,
         started_at   = NULL,
         heartbeat_at = NULL
   WHERE ${FENCE}`;

/** Cancels a pending or running request, and says whether the id named a request at all. */
export const CANCEL_SQL = `
  WITH cancelled AS (
    UPDATE mosaic_requests
       SET status      = 'cancelled',
           error       = NULL,
           finished_at = now()
     WHERE id = $1 AND status IN ('pending', 'running')
    RETURNING id)
  SELECT EXISTS (SELECT 1 FROM cancelled)                      AS "cancelled",
         EXISTS (SELECT 1 FROM mosaic_requests WHERE id = $1) AS "found"`;

export const COUNT_BY_STATUS_SQL = `SELECT status, count(*)::int AS "count" FROM mosaic_requests GROUP BY status`;

export const GET_SQL = `SELECT ${ROW} FROM mosaic_requests WHERE id = $1`;

export const LIST_SQL = `
  SELECT ${ROW} FROM mosaic_requests
   WHERE ($2::text IS NULL OR status = $2) AND ($3::bigint IS NULL OR id < $3::bigint)
   ORDER BY id DESC
   LIMIT $1`;
