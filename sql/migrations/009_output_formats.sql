-- 009_output_formats: which files a request's mosaics are published as. 'png' (grey and colour PNGs with
-- their world files and .aux.xml), 'cog' (a Cloud-Optimized GeoTIFF per index, <index>.tif), or both.
-- Checked by the master (shared/request/output-formats.ts), not by the database, so an unknown format
-- fails its row with a readable reason.

ALTER TABLE mosaic_requests
  ADD COLUMN IF NOT EXISTS formats text[] NOT NULL DEFAULT '{png}';

COMMENT ON COLUMN mosaic_requests.formats IS
  'Output formats per index: png (default; <index>.png, <index>_color.png and sidecars) and/or cog (<index>.tif: uint8 codes, no-data 0, DEFLATE, 512-px tiles, overviews).';

-- Submitters (sql/roles/submitter.sql) may say which formats they want.
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'tessera_submitter') THEN
    GRANT INSERT (formats) ON mosaic_requests TO tessera_submitter;
  END IF;
END
$$;
