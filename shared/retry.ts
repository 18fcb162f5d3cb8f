/**
 * One way to retry: a typed backoff policy, the delay after the n-th failure, and `retry`, which
 * calls a function until it succeeds, waiting with timers between tries and giving up when the
 * policy's attempts are spent, `shouldRetry` says no, the next wait would pass `maxElapsedMs`, or
 * the AbortSignal fires.
 *
 * Delay after failure n (1-based): min(maxMs, initialMs · factor^(n-1)), of which the share
 * `jitter` is random: jitter 0 waits exactly that, 0.5 between half of it and all of it, 1 anything
 * up to it ("full jitter").
 */
import { TesseraError } from './errors.js';

export interface RetryPolicy {
  /** Wait after the first failure, ms. */
  readonly initialMs: number;
  /** Longest wait, ms. */
  readonly maxMs: number;
  /** Growth of the wait per failure (2: doubling). */
  readonly factor: number;
  /** The random share of each wait, 0 … 1. */
  readonly jitter: number;
  /** Tries in all, the first one included; or 'unlimited'. */
  readonly attempts: number | 'unlimited';
}

/** A policy is malformed (negative waits, a shrinking factor, jitter outside 0 … 1, no attempts). */
export class RetryPolicyError extends TesseraError {}

/** Checks a policy and freezes it. */
export function retryPolicy(policy: RetryPolicy): RetryPolicy {
  const { initialMs, maxMs, factor, jitter, attempts } = policy;
  const problems = [
    Number.isFinite(initialMs) && initialMs >= 0 ? '' : `initialMs must be a finite number ≥ 0, not ${initialMs}`,
    Number.isFinite(maxMs) && maxMs >= initialMs ? '' : `maxMs must be a finite number ≥ initialMs (${initialMs}), not ${maxMs}`,
    Number.isFinite(factor) && factor >= 1 ? '' : `factor must be a finite number ≥ 1, not ${factor}`,
    jitter >= 0 && jitter <= 1 ? '' : `jitter must be between 0 and 1, not ${jitter}`,
    attempts === 'unlimited' || (Number.isInteger(attempts) && attempts >= 1) ? '' : `attempts must be an integer ≥ 1 or 'unlimited', not ${attempts}`,
  ].filter((problem) => problem !== '');
  if (problems.length > 0) throw new RetryPolicyError(`retry policy: ${problems.join('; ')}`);
  return Object.freeze({ initialMs, maxMs, factor, jitter, attempts });
}

/** The wait after failure `failures` (1-based), whole ms. `random` returns [0, 1). */
export function backoffDelay(policy: RetryPolicy, failures: number, random: () => number = Math.random): number {
  const { initialMs, maxMs, factor, jitter } = policy;
  const steps = Math.max(0, failures - 1);
  // Capped before it can overflow to Infinity (and 0 · Infinity to NaN).
  const ceiling = initialMs === 0 ? 0 : Math.min(maxMs, initialMs * factor ** Math.min(steps, 1_000));
  return Math.round(ceiling * (1 - jitter + jitter * random()));
}

/** Waits `ms` with a timer; rejects with the signal's reason as soon as it is aborted. */
export function wait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** What `onRetry` hears after a failed try that will be retried. */
export interface RetryEvent {
  readonly error: unknown;
  /** The try that failed, 1-based (also the number of failures so far). */
  readonly attempt: number;
  /** The wait before the next try. */
  readonly delayMs: number;
  /** Since `retry` was called. */
  readonly elapsedMs: number;
}

export interface RetryOptions {
  readonly policy: RetryPolicy;
  /** Stops retrying: `retry` rejects with its reason (also during a wait). */
  readonly signal?: AbortSignal | undefined;
  /** Whether a failure may be retried (default: every one); `attempt` is the try that failed. */
  readonly shouldRetry?: ((error: unknown, attempt: number) => boolean) | undefined;
  /** Called before each wait. */
  readonly onRetry?: ((event: RetryEvent) => void) | undefined;
  /** Give up rather than start a wait that would end more than this long after `retry` was called. */
  readonly maxElapsedMs?: number | undefined;
  /** Wait before the first try too, as after a failure (a reconnect right after a drop). */
  readonly delayFirst?: boolean | undefined;
  /** How to wait (default: `wait`, a timer). The claimer's wait also ends at a wake-up. */
  readonly wait?: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
  /** [0, 1) for the jitter; default Math.random. */
  readonly random?: (() => number) | undefined;
}

/**
 * Calls `fn(attempt)` (1-based) until it resolves, and resolves to its value. Rejects with the
 * last error when it gives up, with `signal.reason` when aborted.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { policy, signal, shouldRetry, onRetry, maxElapsedMs, delayFirst = false, random = Math.random } = options;
  const pause = options.wait ?? wait;
  const started = Date.now();
  let delayMs = delayFirst ? backoffDelay(policy, 1, random) : 0;
  for (let attempt = 1; ; attempt++) {
    if (delayMs > 0) await pause(delayMs, signal);
    signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (policy.attempts !== 'unlimited' && attempt >= policy.attempts) throw error;
      if (shouldRetry && !shouldRetry(error, attempt)) throw error;
      delayMs = backoffDelay(policy, delayFirst ? attempt + 1 : attempt, random);
      const elapsedMs = Date.now() - started;
      if (maxElapsedMs !== undefined && elapsedMs + delayMs > maxElapsedMs) throw error;
      onRetry?.({ error, attempt, delayMs, elapsedMs });
    }
  }
}
