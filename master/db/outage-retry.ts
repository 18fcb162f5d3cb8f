/**
 * Riding out a database outage: which errors mean "PostgreSQL is not answering right now" (the
 * server is down, restarting, out of connections, or the connection dropped), and a retry of one
 * database call through them, bounded in time. Anything else (a constraint, a syntax error, a bug)
 * fails at once: retrying cannot change it.
 */
import { TesseraError, describeError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { retry, retryPolicy, type RetryPolicy } from '../../shared/retry.js';

/** The database stayed unreachable for as long as a call was allowed to wait for it. */
export class DatabaseOutageError extends TesseraError {}

/** How one call waits for the database to come back. */
export interface OutageRetry {
  readonly policy: RetryPolicy;
  /** Give up (DatabaseOutageError) once the database has been unreachable this long. */
  readonly maxElapsedMs: number;
}

/** 250 ms doubling to 5 s (each between half and all of it): a database that is back is used within 5 s. */
export const OUTAGE_POLICY = retryPolicy({ initialMs: 250, maxMs: 5_000, factor: 2, jitter: 0.5, attempts: 'unlimited' });

/** SQLSTATE classes of a server that is down, starting, stopping or overloaded, or of a lost connection. */
const TRANSIENT_SQLSTATE_CLASSES = new Set(['08', '40', '53', '57', '58']);
/** In class 57 but for good: the database was dropped. */
const PERMANENT_SQLSTATES = new Set(['57P04']);
/** What pg and pg-pool say, without a code, when a connection breaks or cannot be made in time. */
const CONNECTION_MESSAGES = /connection terminated|connection error|not queryable|timeout exceeded when trying to connect|query read timeout/i;

/** Whether `error` means the database is unreachable for now (worth retrying), not that the call is wrong. */
export function isTransientDatabaseError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (/^E[A-Z]+$/.test(code)) return true; // a socket error: ECONNREFUSED, ECONNRESET, ETIMEDOUT, ENOTFOUND, EPIPE …
    if (/^[0-9A-Z]{5}$/.test(code)) return TRANSIENT_SQLSTATE_CLASSES.has(code.slice(0, 2)) && !PERMANENT_SQLSTATES.has(code);
  }
  if (error instanceof AggregateError) return error.errors.some(isTransientDatabaseError); // one per address tried
  return CONNECTION_MESSAGES.test(error.message);
}

export interface OutageRetryOptions {
  readonly retry: OutageRetry;
  /** Stops waiting (the master is stopping, the claim is gone): rejects with its reason. */
  readonly signal?: AbortSignal | undefined;
  readonly log: Logger;
}

/**
 * Calls `call` until it answers, retrying while the database is unreachable. Rejects with a
 * DatabaseOutageError once it has been for `retry.maxElapsedMs`, at once with any other error, and
 * with the signal's reason when aborted. `what` names the call in the logs ("recording the outcome").
 */
export async function retryThroughOutage<T>(what: string, call: () => Promise<T>, options: OutageRetryOptions): Promise<T> {
  const { log, signal } = options;
  const started = Date.now();
  let failures = 0;
  try {
    const value = await retry(call, {
      policy: options.retry.policy,
      signal,
      maxElapsedMs: options.retry.maxElapsedMs,
      shouldRetry: isTransientDatabaseError,
      onRetry: ({ error, attempt, delayMs }) => {
        failures = attempt;
        const level = attempt === 1 || attempt % 10 === 0 ? 'warn' : 'debug';
        log[level]({ error: describeError(error), failures: attempt, retryInMs: delayMs }, `database unreachable while ${what}; retrying`);
      },
    });
    if (failures > 0) log.info({ failures, ms: Date.now() - started }, `database reachable again: done ${what}`);
    return value;
  } catch (error) {
    if (signal?.aborted || !isTransientDatabaseError(error)) throw error;
    const seconds = Math.round((Date.now() - started) / 1000);
    throw new DatabaseOutageError(`the database did not answer for ${seconds} s while ${what}: ${describeError(error)}`, { cause: error });
  }
}
