-- 004_verification: what verifying workers' answers (VERIFY_FRACTION) found in a request's run.

ALTER TABLE mosaic_requests ADD COLUMN verification jsonb;

COMMENT ON COLUMN mosaic_requests.verification IS
  'Once completed with VERIFY_FRACTION > 0: {"fraction", "sampledStrips", "replicasGivenUp", "arbitrations", "byWorker": {worker id: {"verified", "minority", "unverified", "discarded", "banned"}}}. verified: results another worker confirmed byte for byte; minority: results two others outvoted (the worker is then banned from the run); unverified: its strips in the mosaic nobody checked; discarded: its unchecked strips thrown away and computed again once it was banned. NULL when verification was off.';
