-- 007_stac_and_automatic_offset: more indices (ndwi, ndmi, nbr, savi, evi: comments only), and a request may name a STAC item (source 'stac', url = the item), and
-- reflectance_offset may be left out. NULL means "not said": a stac request then takes the offset the
-- item implies (earthsearch:boa_offset_applied, raster:bands, s2:processing_baseline >= 04.00 -> -1000),
-- every other source takes 0, as before. A number, 0 included, always wins.

ALTER TABLE mosaic_requests
  ALTER COLUMN reflectance_offset DROP NOT NULL,
  ALTER COLUMN reflectance_offset DROP DEFAULT;

COMMENT ON COLUMN mosaic_requests.reflectance_offset IS
  'Added to every digital number before computing an index (e.g. -1000 for Sentinel-2 L2A since processing baseline 04.00). NULL: for source stac, what the item says (see the README); otherwise 0.';
COMMENT ON COLUMN mosaic_requests.source IS
  'Kind of input: sentinel2 (band files in bands), earthdaily (a box of a mosaic: url and the corners) or stac (url = a STAC item, its assets give the bands). Checked by the master, not by the database.';
COMMENT ON COLUMN mosaic_requests.url IS
  'earthdaily: the mosaic URL (NULL: the master''s EARTHDAILY_MOSAIC_URL); stac: the item''s URL or a local path to its JSON.';
COMMENT ON COLUMN mosaic_requests.indices IS
  'Indices to compute: ndvi (nir, red), ndsi (green, swir16), ndwi (green, nir), ndmi (nir, swir16), nbr (nir, swir22), savi (nir, red), evi (nir, red, blue).';
COMMENT ON COLUMN mosaic_requests.bands IS
  'sentinel2: JSON object from STAC band name (red, nir, green, swir16, swir22, blue) to a band reference: a GeoTIFF path or http(s) URL, optionally #N for the 1-based band in it, e.g. {"red": "/data/input/B04.tif", "nir": "samples/L7_ETMs.tif#4"}. earthdaily: band numbers overriding the layout. stac: empty (the item''s assets give the bands).';
