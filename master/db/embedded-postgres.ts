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
 * - Two processes opening the same data directory corrupt it (each runs its own "postmaster" on the
 *   same files; the next start aborts). `dataDir/tessera.lock` (holding the owner's pid) prevents it;
 *   a lock whose pid is no longer running is taken over.
 */
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TesseraError } from '../../shared/errors.js';

export interface EmbeddedPostgresOptions {
  /** Directory holding the database files; created if missing. */
  dataDir: string;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** TCP port; 0 picks a free one (the returned url names it). */
  port: number;
  /** Concurrent client connections accepted (default 8). */
  maxConnections?: number;
  log?: EmbeddedPostgresLog;
}

/** Where progress is reported (a pino Logger fits). */
export interface EmbeddedPostgresLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface EmbeddedPostgres {
  /** postgres://postgres@<host>:<port>/postgres */
  readonly url: string;
  /** Stops serving, closes the database (everything written stays on disk) and releases the lock. */
  stop(): Promise<void>;
}

/** Another live process (or this one) already has the data directory open. */
export class DataDirInUseError extends TesseraError {}

export const LOCK_FILE_NAME = 'tessera.lock';

/** The url under which the embedded server on host:port is reached (user and database are always postgres). */
export function embeddedDatabaseUrl(host: string, port: number): string {
  return `postgres://postgres@${host.includes(':') ? `[${host}]` : host}:${port}/postgres`;
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log;
  await mkdir(options.dataDir, { recursive: true });
  const releaseLock = await lockDataDir(options.dataDir);

  let db: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  try {
    const startedAt = Date.now();
    db = await PGlite.create({ dataDir: options.dataDir });
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
    log?.info({ host, port, dataDir: options.dataDir, startMs: Date.now() - startedAt }, 'embedded PostgreSQL (PGlite) listening');

    const running = { db, server, dataDir: options.dataDir };
    let stopping: Promise<void> | undefined;
    return {
      url,
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

/**
 * Takes `dataDir/tessera.lock` for this process, or throws DataDirInUseError if a live process holds
 * it. The lock file is created whole (written aside, then hard-linked into place) so a reader never
 * sees it empty. Resolves to the function that releases it.
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lockPath = join(dataDir, LOCK_FILE_NAME);
  const mine = `${process.pid}\n`;
  const draft = `${lockPath}.${process.pid}.${Date.now()}`;
  await writeFile(draft, mine);
  try {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        await link(draft, lockPath);
        return async () => {
          const content = await readFile(lockPath, 'utf8').catch(() => '');
          if (content === mine) await rm(lockPath, { force: true });
        };
      } catch (error) {
        if (!isErrno(error, 'EEXIST')) throw error;
      }
      const holder = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(holder) && holder > 0 && isRunning(holder)) {
        const who = holder === process.pid ? 'this process' : `process ${holder}`;
        throw new DataDirInUseError(
          `the embedded database in ${dataDir} is already open in ${who} (lock file ${lockPath}). ` +
            'Stop that tessera first, or use another data directory; ' +
            'if no tessera is running, delete the lock file.',
        );
      }
      // The holder is gone (or the file is garbage): take the lock over.
      await rm(lockPath, { force: true });
    }
    throw new DataDirInUseError(`could not take the lock file ${lockPath}: another process keeps taking it`);
  } finally {
    await rm(draft, { force: true });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrno(error, 'EPERM'); // it exists, but belongs to someone else
  }
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
