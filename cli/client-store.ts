/**
 * The database connection `submit` and `status` use: --database-url, else DATABASE_URL, else the
 * embedded database a local `tessera master` exposes on 127.0.0.1:EMBEDDED_DB_PORT. Loaded on use:
 * the worker image leaves out the database packages.
 */
import type { Env } from '../shared/config/env.js';
import { TesseraError, redactUrls } from '../shared/errors.js';
import { MASTER_VARIABLES } from '../shared/config/master-config.js';
import type { RequestStore } from '../master/store/request-store.js';

/** `maxConnections`: 1 for a command; `tessera web` serves several pages at once. */
export async function openClientStore(
  env: Env,
  flag: string | undefined,
  options: { maxConnections?: number } = {},
): Promise<{ store: RequestStore; close(): Promise<void> }> {
  const [{ connectDatabase }, { PostgresRequestStore }, { embeddedDatabaseUrl }] = await Promise.all([
    import('../master/db/database.js'),
    import('../master/db/request-store.js'),
    import('../master/db/embedded-postgres.js'),
  ]);
  const url = flag || MASTER_VARIABLES.databaseUrl.read(env) || embeddedDatabaseUrl('127.0.0.1', MASTER_VARIABLES.embeddedDbPort.read(env));
  // A pooled connection that drops (the server restarts) is replaced at the next query, whose own
  // error says what happened: no process warning for it.
  const db = connectDatabase({ url, maxConnections: options.maxConnections ?? 1, notifications: false, onError: () => undefined });
  try {
    await db.query('SELECT 1');
  } catch (error) {
    await db.close();
    const where = redactUrls(url);
    const hint =
      flag || env['DATABASE_URL']
        ? 'check the URL and that the server is up'
        : 'start `tessera master` here (it serves its embedded database on EMBEDDED_DB_PORT), or point DATABASE_URL / --database-url at the central database';
    throw new TesseraError(`cannot reach the database at ${where} (${error instanceof Error ? error.message : String(error)}): ${hint}`);
  }
  return { store: new PostgresRequestStore(db), close: () => db.close() };
}
