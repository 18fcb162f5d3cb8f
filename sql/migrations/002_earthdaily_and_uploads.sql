-- 002_earthdaily_and_uploads: EarthDaily requests by bounding box, and Azure Data Lake uploads.
--
-- An EarthDaily request names a box by two WGS84 corners and a resolution, e.g.
--   INSERT INTO mosaic_requests (source, ul_lat, ul_lng, lr_lat, lr_lng, resolution, indices)
--   VALUES ('earthdaily', 46.52, 6.55, 46.48, 6.62, 10, '{ndvi}');
-- As for the other inputs, values are validated by the master (a readable `failed` reason), not here.

ALTER TABLE mosaic_requests
  ALTER COLUMN bands SET DEFAULT '{}'::jsonb,
  ADD COLUMN url          text,
  ADD COLUMN ul_lat       double precision,
  ADD COLUMN ul_lng       double precision,
  ADD COLUMN lr_lat       double precision,
  ADD COLUMN lr_lng       double precision,
  ADD COLUMN resolution   double precision,
  ADD COLUMN upload_urls  jsonb,
  ADD COLUMN upload_error text;

COMMENT ON COLUMN mosaic_requests.bands IS
  'sentinel2: band name -> GeoTIFF path or URL (#N = band N), e.g. {"red": "/data/input/B04.tif"}. earthdaily: optional band name -> band number in the mosaic, overriding EARTHDAILY_BANDS, e.g. {"swir16": "5"}.';
COMMENT ON COLUMN mosaic_requests.url IS
  'earthdaily: the mosaic (a cloud-optimized GeoTIFF, may be a signed https URL). Null: EARTHDAILY_MOSAIC_URL.';
COMMENT ON COLUMN mosaic_requests.ul_lat IS 'earthdaily: upper-left corner latitude, WGS84 degrees.';
COMMENT ON COLUMN mosaic_requests.ul_lng IS 'earthdaily: upper-left corner longitude, WGS84 degrees.';
COMMENT ON COLUMN mosaic_requests.lr_lat IS 'earthdaily: lower-right corner latitude, WGS84 degrees.';
COMMENT ON COLUMN mosaic_requests.lr_lng IS 'earthdaily: lower-right corner longitude, WGS84 degrees.';
COMMENT ON COLUMN mosaic_requests.resolution IS 'earthdaily: output pixel size in metres.';
COMMENT ON COLUMN mosaic_requests.upload_urls IS
  'Where the finished outputs were uploaded (Azure Data Lake URLs by file name); null when no upload is configured.';
COMMENT ON COLUMN mosaic_requests.upload_error IS
  'Why the upload failed after its retries. The request is still completed: its outputs are on the volume.';
