-- tessera_submitter: least privilege for people and tools that submit requests and read their
-- status (the web app, `tessera submit`), apart from the master's own role, which owns the table.
-- It may insert the columns that describe a request and read every row; it cannot change or delete
-- a row, nor set a status, a claim or an outcome.
--
-- Not a migration: roles belong to the whole cluster and creating one needs CREATEROLE. Run it once
-- per database, after the master has created the table, as a superuser or the table's owner:
--   psql "$DATABASE_URL" -f sql/roles/submitter.sql
-- then give it to a login role:
--   CREATE ROLE alice LOGIN PASSWORD '…' IN ROLE tessera_submitter;
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tessera_submitter') THEN
    CREATE ROLE tessera_submitter NOLOGIN;
  END IF;
END
$$;

REVOKE ALL ON mosaic_requests FROM tessera_submitter;
GRANT SELECT ON mosaic_requests TO tessera_submitter;
GRANT INSERT (source, bands, indices, formats, reflectance_offset, strip_rows, url, ul_lat, ul_lng, lr_lat, lr_lng, resolution, expression, range, mask_classes)
  ON mosaic_requests TO tessera_submitter;
GRANT USAGE ON SEQUENCE mosaic_requests_id_seq TO tessera_submitter;
