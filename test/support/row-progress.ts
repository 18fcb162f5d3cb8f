/**
 * A request row's progress as PostgreSQL sees it, pushed rather than polled: a trigger added to a
 * test's own database NOTIFYs every change of a row's tiles_done, and a client LISTENs, keeping each
 * change with the time it arrived (performance.now(), the clock of the master's events when the master
 * runs in the test's process). A notification is sent when the update commits, so its arrival is
 * when the row showed that count to any reader, give or take the loopback. It also hears the
 * master's own NOTIFY of a finished request, to wait for the end without polling.
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { REQUEST_FINISHED_CHANNEL } from '../../master/db/request-store.js';

const CHANNEL = 'test_tiles_done';

const INSTALL_SQL = `
  CREATE OR REPLACE FUNCTION test_notify_tiles_done() RETURNS trigger
  LANGUAGE plpgsql AS $$
  BEGIN
    PERFORM pg_notify('${CHANNEL}', json_build_object('id', NEW.id::text, 'tilesDone', NEW.tiles_done, 'status', NEW.status)::text);
    RETURN NULL;
  END;
  $$;
  DROP TRIGGER IF EXISTS test_mosaic_requests_tiles_done ON mosaic_requests;
  CREATE TRIGGER test_mosaic_requests_tiles_done
    AFTER UPDATE OF tiles_done ON mosaic_requests
    FOR EACH ROW WHEN (NEW.tiles_done IS DISTINCT FROM OLD.tiles_done)
    EXECUTE FUNCTION test_notify_tiles_done()`;

export interface ProgressNotice {
  readonly id: string;
  readonly tilesDone: number;
  readonly status: string;
  /** performance.now() when it arrived. */
  readonly at: number;
}

export interface RowProgress {
  /** Every change seen so far, in order of arrival. */
  readonly notices: readonly ProgressNotice[];
  /** Changes of request `id` only. */
  of(id: string): ProgressNotice[];
  /** Resolves once request `id` has completed or failed (its NOTIFY, heard since watching began). */
  finished(id: string): Promise<void>;
  close(): Promise<void>;
}

/** Installs the trigger (the table must exist: the master has migrated) and starts listening. */
export async function watchRowProgress(databaseUrl: string): Promise<RowProgress> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'tessera-test-progress' });
  client.on('error', () => undefined); // a dropped connection must not crash the test run
  await client.connect();
  const notices: ProgressNotice[] = [];
  const finishedIds = new Set<string>();
  const finishWaiters = new Map<string, Array<() => void>>();
  client.on('notification', (message) => {
    if (!message.payload) return;
    if (message.channel === REQUEST_FINISHED_CHANNEL) {
      const { id } = JSON.parse(message.payload) as { id: string };
      finishedIds.add(id);
      for (const resolve of finishWaiters.get(id) ?? []) resolve();
      finishWaiters.delete(id);
      return;
    }
    if (message.channel !== CHANNEL) return;
    const { id, tilesDone, status } = JSON.parse(message.payload) as { id: string; tilesDone: number; status: string };
    notices.push({ id, tilesDone, status, at: performance.now() });
  });
  await client.query(INSTALL_SQL);
  await client.query(`LISTEN ${CHANNEL}`);
  await client.query(`LISTEN ${REQUEST_FINISHED_CHANNEL}`);
  return {
    notices,
    of: (id) => notices.filter((notice) => notice.id === id),
    finished: (id) =>
      finishedIds.has(id) ? Promise.resolve() : new Promise((resolve) => finishWaiters.set(id, [...(finishWaiters.get(id) ?? []), resolve])),
    close: () => client.end(),
  };
}
