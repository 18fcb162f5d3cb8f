-- 005_cancelled: a request may be cancelled. `cancelled` is a final status like completed and failed:
-- a pending cancelled request is never claimed; a running one is noticed by its master, whose fenced
-- writes (status = 'running') then touch no row and whose LISTEN on tessera_request_finished hears it
-- at once; that master drops the request's tiles, publishes nothing and records nothing more.
--   UPDATE mosaic_requests SET status = 'cancelled', finished_at = now(), error = NULL
--    WHERE id = 42 AND status IN ('pending', 'running');
-- (what `RequestStore.cancel` does; the web client's POST /api/requests/:id/cancel calls it).

ALTER TABLE mosaic_requests
  DROP CONSTRAINT mosaic_requests_status_check,
  ADD CONSTRAINT mosaic_requests_status_check
      CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled'));

-- Whoever waits on a request (tessera submit --wait, the running master itself) hears of a
-- cancellation as of any other end. Payload: {"id": "<id>", "status": "completed"|"failed"|"cancelled"}.
DROP TRIGGER mosaic_requests_notify_finished ON mosaic_requests;
CREATE TRIGGER mosaic_requests_notify_finished
  AFTER UPDATE OF status ON mosaic_requests
  FOR EACH ROW
  WHEN (NEW.status IN ('completed', 'failed', 'cancelled') AND OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION tessera_notify_request_finished();

COMMENT ON COLUMN mosaic_requests.status IS
  'pending (waiting for a master), running (claimed), completed, failed (see error), or cancelled (by a user; never ran or was stopped, nothing published).';
COMMENT ON COLUMN mosaic_requests.finished_at IS 'When the request completed, failed or was cancelled.';
COMMENT ON FUNCTION tessera_notify_request_finished() IS
  'Trigger: NOTIFY tessera_request_finished with {"id","status"} when a request completes, fails or is cancelled.';
