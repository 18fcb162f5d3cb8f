-- 001_mosaic_requests: the request queue. Users insert a row; a master claims it, processes it and
-- records the outcome on the same row. Applied once by master/db/migrate.ts, inside a transaction
-- (so this file has no BEGIN/COMMIT of its own).

CREATE TABLE mosaic_requests (
  id                 bigserial        PRIMARY KEY,

  -- What the user asked for. Deliberately unconstrained beyond NOT NULL: the master validates these
  -- and records a readable reason on a `failed` row, instead of the user getting an insert error.
  source             text             NOT NULL DEFAULT 'sentinel2',
  bands              jsonb            NOT NULL,
  indices            text[]           NOT NULL DEFAULT '{ndvi}',
  reflectance_offset double precision NOT NULL DEFAULT 0,
  tile_size          integer,

  -- Where the request is in its life, and what came of it.
  status             text             NOT NULL DEFAULT 'pending'
                     CONSTRAINT mosaic_requests_status_check
                     CHECK (status IN ('pending', 'running', 'completed', 'failed')),
  tiles_done         integer          NOT NULL DEFAULT 0,
  tiles_total        integer,
  output_dir         text,
  outputs            jsonb,
  worker_tiles       jsonb,
  timings            jsonb,
  error              text,

  -- The lease: who holds the request and when it last proved it is alive.
  claimed_by         text,
  attempts           integer          NOT NULL DEFAULT 0,
  created_at         timestamptz      NOT NULL DEFAULT now(),
  started_at         timestamptz,
  finished_at        timestamptz,
  heartbeat_at       timestamptz,
  updated_at         timestamptz      NOT NULL DEFAULT now()
);

-- Claiming looks for the lowest id that is pending (or running with a stale heartbeat).
CREATE INDEX mosaic_requests_status_id_idx ON mosaic_requests (status, id);

COMMENT ON TABLE mosaic_requests IS
  'Mosaic requests: insert a row (bands, indices) and a tessera master claims it, computes the mosaic and records the result here. Watch status, tiles_done/tiles_total and error.';
COMMENT ON COLUMN mosaic_requests.id IS 'Request id, assigned on insert.';
COMMENT ON COLUMN mosaic_requests.source IS 'Kind of imagery; only ''sentinel2'' is supported. Checked by the master, not by the database.';
COMMENT ON COLUMN mosaic_requests.bands IS 'JSON object from STAC band name (red, nir, green, swir16) to a band reference: a GeoTIFF path or http(s) URL, optionally #N for the 1-based band in it, e.g. {"red": "/data/input/B04.tif", "nir": "samples/L7_ETMs.tif#4"}.';
COMMENT ON COLUMN mosaic_requests.indices IS 'Indices to compute: ndvi (needs red, nir) and/or ndsi (needs green, swir16).';
COMMENT ON COLUMN mosaic_requests.reflectance_offset IS 'Added to every digital number before computing an index (e.g. -1000 for Sentinel-2 L2A since processing baseline 04.00).';
COMMENT ON COLUMN mosaic_requests.tile_size IS 'Requested tile size in output pixels; NULL means the master''s default.';
COMMENT ON COLUMN mosaic_requests.status IS 'pending (waiting for a master), running (claimed), completed, or failed (see error).';
COMMENT ON COLUMN mosaic_requests.tiles_done IS 'Tiles finished so far in the current attempt.';
COMMENT ON COLUMN mosaic_requests.tiles_total IS 'Tiles in the mosaic; NULL until the master has planned it.';
COMMENT ON COLUMN mosaic_requests.output_dir IS 'Directory holding the results, once completed.';
COMMENT ON COLUMN mosaic_requests.outputs IS 'JSON description of the files written (one entry per index), once completed.';
COMMENT ON COLUMN mosaic_requests.worker_tiles IS 'JSON object from worker id to the number of tiles it computed, once completed.';
COMMENT ON COLUMN mosaic_requests.timings IS 'JSON object from stage name to milliseconds spent, once completed.';
COMMENT ON COLUMN mosaic_requests.error IS 'Why the request failed, in words meant for the user; NULL otherwise.';
COMMENT ON COLUMN mosaic_requests.claimed_by IS 'Id of the master holding (or last holding) the request; NULL while pending.';
COMMENT ON COLUMN mosaic_requests.attempts IS 'How many times a master has claimed the request (a crashed master''s request is claimed again).';
COMMENT ON COLUMN mosaic_requests.created_at IS 'When the request was inserted.';
COMMENT ON COLUMN mosaic_requests.started_at IS 'When the current (or last) claim began.';
COMMENT ON COLUMN mosaic_requests.finished_at IS 'When the request completed or failed.';
COMMENT ON COLUMN mosaic_requests.heartbeat_at IS 'Last sign of life from the claiming master; a running request whose heartbeat is too old is claimed by another master.';
COMMENT ON COLUMN mosaic_requests.updated_at IS 'When the row last changed (kept by a trigger).';

-- Keep updated_at current on every update.
CREATE FUNCTION tessera_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$;

CREATE TRIGGER mosaic_requests_touch_updated_at
  BEFORE UPDATE ON mosaic_requests
  FOR EACH ROW EXECUTE FUNCTION tessera_touch_updated_at();

-- Wake the masters: a request is waiting to be claimed. Fired on insert and also when a master hands a
-- request back (status returns to pending), so an idle master picks it up without waiting to poll.
-- The payload is the request id as text.
CREATE FUNCTION tessera_notify_request_pending() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('tessera_request_inserted', NEW.id::text);
  RETURN NULL;
END;
$$;

CREATE TRIGGER mosaic_requests_notify_inserted
  AFTER INSERT ON mosaic_requests
  FOR EACH ROW EXECUTE FUNCTION tessera_notify_request_pending();

CREATE TRIGGER mosaic_requests_notify_released
  AFTER UPDATE OF status ON mosaic_requests
  FOR EACH ROW
  WHEN (NEW.status = 'pending' AND OLD.status IS DISTINCT FROM 'pending')
  EXECUTE FUNCTION tessera_notify_request_pending();

-- Tell whoever waits on a request that it is done. Payload: {"id": "<id as text>", "status": "completed"|"failed"}.
CREATE FUNCTION tessera_notify_request_finished() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('tessera_request_finished',
                    json_build_object('id', NEW.id::text, 'status', NEW.status)::text);
  RETURN NULL;
END;
$$;

CREATE TRIGGER mosaic_requests_notify_finished
  AFTER UPDATE OF status ON mosaic_requests
  FOR EACH ROW
  WHEN (NEW.status IN ('completed', 'failed') AND OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION tessera_notify_request_finished();

COMMENT ON FUNCTION tessera_touch_updated_at() IS 'Trigger: sets updated_at to now() on every update of a mosaic request.';
COMMENT ON FUNCTION tessera_notify_request_pending() IS 'Trigger: NOTIFY tessera_request_inserted with the id of a request that is waiting to be claimed.';
COMMENT ON FUNCTION tessera_notify_request_finished() IS 'Trigger: NOTIFY tessera_request_finished with {"id","status"} when a request completes or fails.';
