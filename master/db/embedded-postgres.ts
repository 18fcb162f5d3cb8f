/**
 * Runs PostgreSQL inside this process (PGlite, persisted under `dataDir`) and serves it over TCP with
 * pglite-socket, so the master, `psql` and other processes reach it like a real server — for trying
 * tessera without installing PostgreSQL.
 *
 * Caveats of this mode (PGlite 0.5 / pglite-socket 0.2):
 * - There is ONE PostgreSQL session. pglite-socket multiplexes every TCP connection onto it, one
 *   protocol message at a time. Whatever user and database a client names, it is `postgres` on
 *   `postgres`.
 * - NOTIFY does not cross connections: a notification is written to the connection whose statement
 *   (or trigger) sent it. So the master runs with notifications off and relies on polling.
 * - Transactions of different connections are not isolated, they are serialised: while one connection
 *   is inside BEGIN … COMMIT, the statements of every other connection wait. A connection that opens a
 *   transaction and then waits on a query from another connection deadlocks. Row locks and advisory
 *   locks never block (every connection is the same backend), so SKIP LOCKED skips nothing. The master
 *   therefore keeps its own queries on ONE connection (maxConnections 1, notifications false).
 * - A client beyond `maxConnections` is sent a plain-text "Too many connections" and dropped.
 * - Two processes opening the same data directory corrupt it: `dataDir/tessera.lock` prevents it
 *   (data-dir-lock.ts).
 */
import type { PGlite } from '@electric-sql/pglite';
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { mkdir } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';
import { TesseraError } from '../../shared/errors.js';
import { lockDataDir } from './data-dir-lock.js';
import { defaultTemplateDir, installedPgliteVersion, seedDataDir, type DataDirOrigin } from './embedded-template.js';

export { DataDirInUseError, LOCK_FILE_NAME } from './data-dir-lock.js';

export interface EmbeddedPostgresOptions {
  /** Directory holding the database files; created if missing. */
  dataDir: string;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** TCP port; 0 picks a free one (the returned url names it). */
  port: number;
  /** Concurrent client connections accepted (default 8). */
  maxConnections?: number;
  /**
   * A new data directory is copied from this template (embedded-template.ts; default: the one
   * `npm run build` makes). null: PGlite runs initdb instead.
   */
  templateDir?: string | null;
  log?: EmbeddedPostgresLog;
}

/**
 * PostgreSQL settings on top of PGlite's own start parameters. shared_buffers: the data directory's
 * postgresql.conf says 128MB, and PostgreSQL touches all of it at start: 16MB (2048 pages, far more
 * than a request queue uses) took an idle master from 340–360 to 215–250 MB RSS (2026-12-01).
 */
export const EMBEDDED_SETTINGS: readonly string[] = ['-c', 'shared_buffers=16MB'];

/**
 * V8 first compiles WebAssembly with its baseline compiler (Liftoff), then recompiles the functions
 * that run often with TurboFan on background threads. For PGlite's 8.7 MB module and a request
 * queue's small queries the second compile costs more than it brings: with Liftoff only, PGlite's
 * start on an existing folder went from 0.56–1.05 s to 0.32–0.45 s, 200 small queries from 1.1–1.5 s
 * to 0.12–0.29 s, and the process used 50 MB less (2026-12-01, 2 busy cores; 3 runs each).
 * The flag is process-wide and holds for any WebAssembly compiled after it; it must be set before
 * PGlite compiles its module.
 */
export function compileWebAssemblyWithLiftoffOnly(): void {
  setFlagsFromString('--liftoff-only');
}

/** Where progress is reported (a pino Logger fits). */
export interface EmbeddedPostgresLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface EmbeddedPostgres {
  /** postgres://postgres@<host>:<port>/postgres */
  readonly url: string;
  /** Whether the database was there, copied from the template, or made by initdb. */
  readonly origin: DataDirOrigin;
  /** Stops serving, closes the database (everything written stays on disk) and releases the lock. */
  stop(): Promise<void>;
}

/** The url under which the embedded server on host:port is reached (user and database are always postgres). */
export function embeddedDatabaseUrl(host: string, port: number): string {
  return `postgres://postgres@${host.includes(':') ? `[${host}]` : host}:${port}/postgres`;
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log;
  // PGlite is loaded on use (a one-shot run never opens this database), while the folder is readied.
  const loading = Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite-socket')]);
  loading.catch(() => undefined); // awaited below
  await mkdir(options.dataDir, { recursive: true });
  const releaseLock = await lockDataDir(options.dataDir);

  let db: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  try {
    const startedAt = Date.now();
    compileWebAssemblyWithLiftoffOnly();
    const templateDir = options.templateDir === undefined ? defaultTemplateDir() : options.templateDir;
    const origin = await seedDataDir(options.dataDir, templateDir, installedPgliteVersion());
    if (origin.kind === 'initdb') log?.warn({ dataDir: options.dataDir, reason: origin.reason }, 'new embedded database: running initdb (slow)');
    const [{ PGlite }, { PGLiteSocketServer }] = await loading;
    db = await PGlite.create({ dataDir: options.dataDir, startParams: [...PGlite.defaultStartParams, ...EMBEDDED_SETTINGS] });
    server = new PGLiteSocketServer({
      db,
      host,
      port: options.port,
      maxConnections: options.maxConnections ?? 8,
    });
    try {
      await server.start();
    } catch (error) {
      const inUse = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
      throw new TesseraError(
        inUse
          ? `port ${options.port} on ${host} is already in use (another tessera master with an embedded database?): ` +
              'stop it, or set EMBEDDED_DB_PORT to a free port'
          : `the embedded database cannot listen on ${host}:${options.port}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    // Socket errors while it runs (a start failure is thrown above instead).
    server.addEventListener('error', (event) => log?.warn({ error: describeEvent(event) }, 'embedded PostgreSQL socket error'));
    const port = portOf(server.getServerConn());
    const url = embeddedDatabaseUrl(host, port);
    log?.info({ host, port, dataDir: options.dataDir, origin, startMs: Date.now() - startedAt }, 'embedded PostgreSQL (PGlite) listening');

    const running = { db, server, dataDir: options.dataDir };
    let stopping: Promise<void> | undefined;
    return {
      url,
      origin,
      stop: () =>
        (stopping ??= (async () => {
          try {
            await running.server.stop();
            await running.db.close();
          } finally {
            await releaseLock();
          }
          log?.info({ dataDir: running.dataDir }, 'embedded PostgreSQL stopped');
        })()),
    };
  } catch (error) {
    await server?.stop().catch(() => {});
    if (db && !db.closed) await db.close().catch(() => {});
    await releaseLock();
    throw error;
  }
}

/** "127.0.0.1:54321" → 54321 (the socket server reports the port it really bound, even for port 0). */
function portOf(serverConn: string): number {
  const port = Number(serverConn.slice(serverConn.lastIndexOf(':') + 1));
  if (!Number.isInteger(port) || port <= 0) throw new Error(`embedded PostgreSQL: cannot read the port from "${serverConn}"`);
  return port;
}

function describeEvent(event: Event): string {
  const detail: unknown = event instanceof CustomEvent ? event.detail : undefined;
  return detail instanceof Error ? detail.message : String(detail);
}
