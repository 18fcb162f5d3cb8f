-- 003_strip_rows: a tile is now a full-width strip of rows, so the work-unit size a request may set
-- is a number of rows. tile_size (a square tile's side) becomes strip_rows; an old tile_size of N
-- meant tiles N rows high, so existing values keep their sense as rows per strip.

ALTER TABLE mosaic_requests RENAME COLUMN tile_size TO strip_rows;

COMMENT ON COLUMN mosaic_requests.strip_rows IS
  'Rows per strip (the unit of work handed to one worker); NULL: the master sizes strips to about STRIP_PIXELS pixels. Rounded down to whole blocks of the source when at least one block high.';
COMMENT ON COLUMN mosaic_requests.tiles_done IS 'Tiles (full-width strips of rows) finished so far in the current attempt.';
COMMENT ON COLUMN mosaic_requests.tiles_total IS 'Tiles (full-width strips of rows) in the mosaic; NULL until the master has planned it.';
