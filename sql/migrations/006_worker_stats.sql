-- 006_worker_stats: what each worker contributed, as seen by each master: one row per (worker, master),
-- upserted by the master every WORKER_STATS_MS and at the end of each request. Totals are over the
-- master's life (a master id names one process). Read by the web client's workers page, by psql users
-- and by every master, e.g.
--   SELECT worker_id, master_id, busy, tiles_done, tiles_per_minute, last_seen
--     FROM worker_stats WHERE last_seen > now() - interval '5 minutes' ORDER BY last_seen DESC;

CREATE TABLE worker_stats (
  worker_id        text             NOT NULL,
  master_id        text             NOT NULL,
  busy             boolean          NOT NULL DEFAULT false,
  tiles_done       bigint           NOT NULL DEFAULT 0,
  tiles_per_minute double precision NOT NULL DEFAULT 0,
  decode_ms        double precision NOT NULL DEFAULT 0,
  compute_ms       double precision NOT NULL DEFAULT 0,
  encode_ms        double precision NOT NULL DEFAULT 0,
  bytes_in         bigint           NOT NULL DEFAULT 0,
  bytes_out        bigint           NOT NULL DEFAULT 0,
  first_seen       timestamptz      NOT NULL DEFAULT now(),
  last_seen        timestamptz      NOT NULL DEFAULT now(),
  PRIMARY KEY (worker_id, master_id)
);

-- Readers ask for the workers seen recently, newest first.
CREATE INDEX worker_stats_last_seen_idx ON worker_stats (last_seen DESC);

COMMENT ON TABLE worker_stats IS
  'Per worker and master: tiles computed, the worker''s own decode/compute/encode times, bytes shipped each way, busy or idle, first and last seen. Upserted by the master every WORKER_STATS_MS.';
COMMENT ON COLUMN worker_stats.worker_id IS 'The worker''s id (WORKER_ID, or <hostname>-<pid>-<random>).';
COMMENT ON COLUMN worker_stats.master_id IS 'The master that saw it (claimed_by in mosaic_requests).';
COMMENT ON COLUMN worker_stats.busy IS 'Whether the worker held a tile when the row was written.';
COMMENT ON COLUMN worker_stats.tiles_done IS 'Tiles whose result this master accepted from the worker.';
COMMENT ON COLUMN worker_stats.tiles_per_minute IS 'Tiles accepted over the minute before the row was written.';
COMMENT ON COLUMN worker_stats.decode_ms IS 'Total milliseconds the worker reported decoding source data, over its accepted tiles.';
COMMENT ON COLUMN worker_stats.compute_ms IS 'Total milliseconds the worker reported computing indices, over its accepted tiles.';
COMMENT ON COLUMN worker_stats.encode_ms IS 'Total milliseconds the worker reported encoding PNG strips, over its accepted tiles.';
COMMENT ON COLUMN worker_stats.bytes_in IS 'Source bytes the master streamed to the worker.';
COMMENT ON COLUMN worker_stats.bytes_out IS 'Result bytes (PNG strips) the worker sent back in accepted results.';
COMMENT ON COLUMN worker_stats.first_seen IS 'When this master first saw the worker.';
COMMENT ON COLUMN worker_stats.last_seen IS 'When this master last heard from the worker.';
