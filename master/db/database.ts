/**
 * The one door to PostgreSQL: a `pg.Pool` for queries and transactions, plus (optionally) a dedicated
 * LISTEN connection that reconnects with backoff and re-LISTENs when it drops. Connection errors are
 * routed to `onError`; they never crash the process.
 *
 * Bigint (int8) columns come back as strings, which is what pg does by default; we never touch pg's
 * global type parsers.
 */
import pg from 'pg';
import { retry, retryPolicy } from '../../shared/retry.js';

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

/** Something that runs SQL: the database itself, or a transaction handed to `transaction`'s callback. */
export interface Queryable {
  query<R extends object = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<QueryResult<R>>;
}

export interface Database extends Queryable {
  /**
   * Runs `fn` inside BEGIN … COMMIT on one connection; ROLLBACK (and rethrow) if it throws. Inside `fn`
   * query through `tx` only: the pool may have no other connection to give (maxConnections 1).
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Calls `onNotify` with the payload of every NOTIFY on `channel`; resolves once LISTEN is in effect, to
   * an unsubscribe function. Notifications sent while the listening connection is down are lost (it
   * reconnects and LISTENs again), so callers keep a polling fallback. When `notifications` is false this
   * resolves to a no-op unsubscribe and nothing is ever delivered.
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /** Whether `listen` delivers anything. */
  readonly notifications: boolean;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** postgres://… connection string. */
  url: string;
  /** Pool size. Use 1 against the embedded (pglite-socket) server, which has a single session. */
  maxConnections: number;
  /** Open a dedicated LISTEN connection. False against the embedded server: NOTIFY does not cross connections there. */
  notifications: boolean;
  /** Connection-level errors (an idle connection dropped, the listener lost its server). Default: a process warning. */
  onError?: (error: Error) => void;
}

/** The LISTEN connection's reconnects: 100 ms doubling to 10 s, each between half and all of it, for ever. */
const LISTEN_RECONNECT = retryPolicy({ initialMs: 100, maxMs: 10_000, factor: 2, jitter: 0.5, attempts: 'unlimited' });

export function connectDatabase(options: ConnectOptions): Database {
  const onError = options.onError ?? ((error: Error) => process.emitWarning(error));
  const pool = new pg.Pool({ connectionString: options.url, max: options.maxConnections });
  // An idle pooled connection that dies emits 'error' on the pool; unhandled, that would crash us.
  pool.on('error', (error) => onError(error));

  const listener = options.notifications ? createListener(options.url, onError) : undefined;
  let closing: Promise<void> | undefined;

  async function query<R extends object>(
    runner: pg.Pool | pg.PoolClient,
    text: string,
    values?: readonly unknown[],
  ): Promise<QueryResult<R>> {
    const result = await runner.query<pg.QueryResultRow>(text, values ? [...values] : undefined);
    return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
  }

  return {
    notifications: options.notifications,

    query: (text, values) => query(pool, text, values),

    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      // A checked-out client has no error listener of its own; keep a dying connection from crashing us
      // (the failing query rejects anyway).
      const onClientError = (error: Error): void => onError(error);
      client.on('error', onClientError);
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const tx: Queryable = { query: (text, values) => query(client, text, values) };
        const result = await fn(tx);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          // The connection is unusable: destroy it rather than return it to the pool.
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        }
        throw error;
      } finally {
        client.off('error', onClientError);
        client.release(broken);
      }
    },

    async listen(channel, onNotify) {
      if (!listener) return async () => {};
      return listener.listen(channel, onNotify);
    },

    close() {
      closing ??= (async () => {
        await listener?.close();
        await pool.end();
      })();
      return closing;
    },
  };
}

interface Listener {
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** A dedicated LISTEN connection shared by every subscriber; reconnects with exponential backoff. */
function createListener(url: string, onError: (error: Error) => void): Listener {
  const subscribers = new Map<string, Set<(payload: string) => void>>();
  let client: pg.Client | undefined; // connected and LISTENing to every channel in `subscribers`
  let connecting: Promise<pg.Client> | undefined;
  /** Aborts the reconnect loop (one at most) when the database is closed. */
  const closing = new AbortController();
  let reconnecting = false;
  let closed = false;

  const listenSql = (c: pg.Client, channel: string): string => `LISTEN ${c.escapeIdentifier(channel)}`;

  function dispatch(message: pg.Notification): void {
    for (const onNotify of subscribers.get(message.channel) ?? []) {
      try {
        onNotify(message.payload ?? '');
      } catch (error) {
        onError(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }

  function connect(): Promise<pg.Client> {
    if (connecting) return connecting;
    const attempt = (async () => {
      const c = new pg.Client({ connectionString: url, application_name: 'tessera-listener' });
      c.on('error', (error) => lost(c, error));
      c.on('end', () => lost(c, new Error('tessera: the LISTEN connection closed')));
      c.on('notification', dispatch);
      try {
        await c.connect();
        for (const channel of subscribers.keys()) await c.query(listenSql(c, channel));
      } catch (error) {
        c.removeAllListeners('end');
        await c.end().catch(() => {});
        throw error;
      }
      if (closed) {
        await c.end().catch(() => {});
        throw new Error('tessera: the database was closed');
      }
      client = c;
      return c;
    })();
    connecting = attempt;
    attempt.then(
      () => (connecting = undefined),
      () => (connecting = undefined),
    );
    return attempt;
  }

  function lost(c: pg.Client, error: Error): void {
    if (client !== c) return; // an old connection, or one still connecting (its connect() rejects)
    client = undefined;
    c.removeAllListeners('end');
    c.end().catch(() => {});
    if (closed) return;
    onError(error);
    scheduleReconnect();
  }

  /**
   * Reconnects in the background until it is connected again (or closed, or nobody listens): the
   * first try after one backoff delay, so a connection dropped again at once cannot spin. A listen()
   * meanwhile connects on its own; the loop's next turn then finds the client and ends.
   */
  function scheduleReconnect(): void {
    if (closed || reconnecting || subscribers.size === 0) return;
    reconnecting = true;
    retry(
      async () => {
        if (!closed && !client && subscribers.size > 0) await connect();
      },
      {
        policy: LISTEN_RECONNECT,
        signal: closing.signal,
        delayFirst: true,
        onRetry: ({ error }) => onError(error instanceof Error ? error : new Error(String(error))),
      },
    )
      .catch(() => {}) // closed: the only way an unlimited retry ends without connecting
      .finally(() => (reconnecting = false));
  }

  async function unsubscribe(channel: string, onNotify: (payload: string) => void): Promise<void> {
    const set = subscribers.get(channel);
    if (!set?.delete(onNotify) || set.size > 0) return;
    subscribers.delete(channel);
    const c = client;
    if (c && !closed) await c.query(`UNLISTEN ${c.escapeIdentifier(channel)}`).catch(() => {});
  }

  return {
    async listen(channel, onNotify) {
      if (closed) throw new Error('tessera: the database is closed');
      // Wrap so the same function may subscribe twice and unsubscribe each independently.
      const subscriber = (payload: string): void => onNotify(payload);
      let set = subscribers.get(channel);
      const isNewChannel = !set;
      if (!set) subscribers.set(channel, (set = new Set()));
      set.add(subscriber);
      try {
        if (client) {
          if (isNewChannel) await client.query(listenSql(client, channel));
        } else {
          // connect() LISTENs to every channel in `subscribers`, this one included.
          const c = await connect();
          await c.query(listenSql(c, channel)); // in case it connected before this channel was added
        }
      } catch (error) {
        await unsubscribe(channel, subscriber);
        scheduleReconnect(); // keep the other channels' subscribers served
        throw error;
      }
      return () => unsubscribe(channel, subscriber);
    },

    async close() {
      closed = true;
      closing.abort();
      subscribers.clear();
      await connecting?.catch(() => {});
      const c = client;
      client = undefined;
      if (c) {
        c.removeAllListeners('end');
        await c.end().catch(() => {});
      }
    },
  };
}
