/**
 * Opens the master's request store in PostgreSQL: the central database (DATABASE_URL) or the
 * embedded PGlite server, migrated. The database modules are loaded on use: a master on a given
 * store (a one-shot run) loads neither pg nor PGlite.
 */
import { resolve } from 'node:path';
import type { MasterConfig } from '../shared/config/master-config.js';
import type { Logger } from '../shared/logger.js';
import type { Database } from './db/database.js';
import type { EmbeddedPostgres } from './db/embedded-postgres.js';
import type { FinishedRequestPurge } from './maintenance/retention-task.js';
import type { RequestStore } from './store/request-store.js';

export interface OpenedStore {
  readonly store: RequestStore;
  readonly url: string | undefined;
  readonly embedded: boolean;
  /** Where retention deletes finished requests (PostgreSQL only). */
  readonly purge?: FinishedRequestPurge;
  /** Closes what was opened for the store (not a given store: its owner keeps it). */
  close(): Promise<void>;
}

type PostgresTarget =
  | { readonly kind: 'central'; readonly url: string }
  | { readonly kind: 'embedded'; readonly starting: Promise<EmbeddedPostgres> };

/**
 * Starts opening the requests' store in PostgreSQL: resolves as soon as the embedded database (when
 * there is no DATABASE_URL) has been started, to the promise of the migrated store, so the caller
 * goes on while PGlite reads and copies its files. The database modules are loaded on use: a master
 * on a given store (a one-shot run) loads neither pg nor PGlite.
 */
export async function beginOpeningPostgresStore(config: MasterConfig, log: Logger): Promise<{ readonly store: Promise<OpenedStore> }> {
  const dataDir = resolve(config.embeddedDbDir);
  let target: PostgresTarget;
  if (config.databaseUrl) {
    target = { kind: 'central', url: config.databaseUrl };
  } else {
    const { startEmbeddedPostgres } = await import('./db/embedded-postgres.js');
    const starting = startEmbeddedPostgres({ dataDir, port: config.embeddedDbPort, log: log.child({ scope: 'embedded-postgres' }) });
    starting.catch(() => undefined); // awaited in openPostgresStore, once pg is loaded
    target = { kind: 'embedded', starting };
  }
  const store = openPostgresStore(target, dataDir, log);
  store.catch(() => undefined); // the caller awaits it after other work
  return { store };
}

async function openPostgresStore(target: PostgresTarget, dataDir: string, log: Logger): Promise<OpenedStore> {
  const stopEmbedded = async (): Promise<void> => {
    if (target.kind === 'embedded') await target.starting.then((embedded) => embedded.stop(), () => undefined);
  };
  let modules: [typeof import('./db/migrate.js'), typeof import('./db/request-store.js'), typeof import('./db/database.js'), typeof import('./db/request-purge.js')];
  try {
    modules = await Promise.all([import('./db/migrate.js'), import('./db/request-store.js'), import('./db/database.js'), import('./db/request-purge.js')]);
  } catch (error) {
    await stopEmbedded();
    throw error;
  }
  const [{ migrate }, { PostgresRequestStore }, { connectDatabase }, { PostgresRequestPurge }] = modules;
  const onError = (error: Error): void => log.error({ error: error.message }, 'database connection error');
  let db: Database;
  let url: string;
  if (target.kind === 'central') {
    url = target.url;
    db = connectDatabase({ url, maxConnections: 4, notifications: true, onError });
  } else {
    url = (await target.starting).url;
    log.info({ url, dataDir }, 'embedded PostgreSQL (PGlite) started');
    // pglite-socket runs every connection on one session: keep the master on one connection and poll.
    db = connectDatabase({ url, maxConnections: 1, notifications: false, onError });
  }
  const close = async (): Promise<void> => {
    await db.close();
    await stopEmbedded();
  };
  try {
    await migrate(db);
  } catch (error) {
    await close();
    throw error;
  }
  return { store: new PostgresRequestStore(db), purge: new PostgresRequestPurge(db), url, embedded: target.kind === 'embedded', close };
}

