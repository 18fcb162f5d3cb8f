-- 008_custom_expression_and_scl_mask: a request's own band math, and the SCL cloud mask.
--
-- expression: band math over the STAC band names (red, nir, green, blue, swir16, swir22), e.g.
-- '(nir - swir16) / (nir + swir16)', computed as the output "expr" (listing expr in indices is
-- optional; indices may then be '{}'). Parsed by the master's safe parser, never evaluated as code.
-- range: {lo, hi}, the expression's values mapped onto codes 1..255 (NULL: {-1, 1}).
-- Like every column a user types, unconstrained: the master records why a bad value fails the row.

ALTER TABLE mosaic_requests
  ADD COLUMN expression text,
  ADD COLUMN range      double precision[];

COMMENT ON COLUMN mosaic_requests.expression IS
  'Custom band math over red, nir, green, blue, swir16, swir22 (numbers, + - * /, parentheses), output "expr"; NULL: none.';
COMMENT ON COLUMN mosaic_requests.range IS
  'For expression: {lo, hi}, the values mapped onto codes 1 (lo) to 255 (hi), clamped; NULL: {-1, 1}.';

-- mask_classes: the Sentinel-2 Scene Classification classes whose pixels become no-data (code 0) in
-- every index, read from the request's scl band (bands' "scl", or a STAC item's scl / SCL asset,
-- 20 m, nearest neighbour). NULL: {0,1,3,8,9,10} (no data, saturated, cloud shadow, clouds medium
-- and high, thin cirrus; 11 snow is kept) wherever an scl band is there; '{}': no masking, and the
-- scl band is not read; a list: those classes, and the request fails without an scl band.

ALTER TABLE mosaic_requests
  ADD COLUMN mask_classes integer[];

COMMENT ON COLUMN mosaic_requests.mask_classes IS
  'SCL classes (0-11) masked to no-data in every index; NULL: {0,1,3,8,9,10} when the request has an scl band; {}: no masking.';

-- A database whose tessera_submitter role (sql/roles/submitter.sql) predates these columns: let it
-- insert them too, as the role file now grants.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tessera_submitter') THEN
    GRANT INSERT (expression, range, mask_classes) ON mosaic_requests TO tessera_submitter;
  END IF;
END
$$;
