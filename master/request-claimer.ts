/**
 * The master's main loop: claims one pending request at a time (in PostgreSQL FOR UPDATE SKIP LOCKED,
 * so several masters can share a database), runs it to the end, and claims the next. The store's
 * onPending wake-up (NOTIFY on insert or release) makes it claim at once; a polling interval covers
 * stores without wake-ups (the embedded database) and missed ones.
 *
 * Each request runs under a signal of its own, aborted when the claimer abandons its work, and
 * unlinked from it once the run ends. The run combines it with others (AbortSignal.any), and on
 * Node 20 every AbortSignal.any keeps an entry on each source signal for as long as that source
 * lives, even after the combined signal is gone: built on the master-long abandon signal itself,
 * that was a few entries per request (and one per remote range read) that were never freed.
 */
import { describeError } from '../shared/errors.js';
import { settleWithin } from '../shared/settle-within.js';
import type { Logger } from '../shared/logger.js';
import { retry, retryPolicy } from '../shared/retry.js';
import { WakeUp } from '../shared/wake-up.js';
import type { MosaicRequestRow, RequestStore, Unsubscribe } from './store/request-store.js';

/** Runs one claimed request to a recorded end; never throws. Aborting `signal` means "stop now". */
export interface RequestProcessor {
  process(row: MosaicRequestRow, signal: AbortSignal): Promise<void>;
}

export interface RequestClaimerOptions {
  readonly store: RequestStore;
  readonly processor: RequestProcessor;
  readonly masterId: string;
  readonly pollIntervalMs: number;
  readonly requestStaleMs: number;
  readonly log: Logger;
}

/** Claiming while the database does not answer: 1 s doubling to 30 s, for ever (until stopped). */
const CLAIM_RETRY = retryPolicy({ initialMs: 1_000, maxMs: 30_000, factor: 2, jitter: 0, attempts: 'unlimited' });

export class RequestClaimer {
  readonly #options: RequestClaimerOptions;
  /** Aborted when the loop must stop claiming. */
  readonly #stopClaiming = new AbortController();
  /** Aborted when the request in hand must be given up (forced stop). */
  readonly #abandon = new AbortController();
  /** Ends an idle wait early: a request is pending, or the claimer stops. */
  readonly #wakeUp = new WakeUp();
  #loop: Promise<void> | undefined;
  #unlisten: Unsubscribe | undefined;

  constructor(options: RequestClaimerOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    if (this.#loop) throw new Error('request claimer already started');
    this.#unlisten = await this.#options.store.onPending(() => this.wake());
    this.#loop = this.#run();
  }

  /** Claim now instead of at the next poll (called on a pending wake-up; harmless when busy). */
  wake(): void {
    this.#wakeUp.wake();
  }

  /**
   * Stops claiming. Graceful: the request in hand may finish within timeoutMs; after that (or when
   * not graceful) it is abandoned, which releases it back to `pending` for another master.
   */
  async stop({ graceful = true, timeoutMs = 20_000 }: { graceful?: boolean; timeoutMs?: number } = {}): Promise<void> {
    this.#stopClaiming.abort();
    if (!graceful) this.#abandon.abort();
    const loop = this.#loop ?? Promise.resolve();
    const outcome = await settleWithin(loop, timeoutMs);
    if (!outcome.settled) {
      this.#options.log.warn({ timeoutMs }, 'request still running at shutdown; releasing it');
      this.#abandon.abort();
      await loop;
    }
    await this.#unlisten?.();
  }

  async #run(): Promise<void> {
    const { store, masterId, requestStaleMs, log } = this.#options;
    while (!this.#stopClaiming.signal.aborted) {
      let row: MosaicRequestRow | null;
      try {
        row = await retry(
          () => {
            this.#wakeUp.clear();
            return store.claimNext(masterId, requestStaleMs);
          },
          {
            policy: CLAIM_RETRY,
            signal: this.#stopClaiming.signal,
            // A pending wake-up (a NOTIFY: the database is back) or a stop ends the wait early.
            wait: (ms) => this.#idle(ms),
            onRetry: ({ error, delayMs }) => log.error({ error: describeError(error), retryInMs: delayMs }, 'cannot claim requests; database unreachable?'),
          },
        );
      } catch {
        break; // stopping: the only way an unlimited retry ends without a claim
      }
      if (!row) {
        await this.#idle(this.#options.pollIntervalMs);
        continue;
      }
      log.info({ requestId: row.id, attempts: row.attempts }, 'claimed request');
      await this.#processUnderOwnSignal(row);
    }
  }

  /** Runs `row` under a signal that follows the claimer's abandon signal only while the run lasts. */
  async #processUnderOwnSignal(row: MosaicRequestRow): Promise<void> {
    const abandon = this.#abandon.signal;
    const run = new AbortController();
    const follow = (): void => run.abort(abandon.reason);
    if (abandon.aborted) follow();
    else abandon.addEventListener('abort', follow, { once: true });
    try {
      await this.#options.processor.process(row, run.signal);
    } finally {
      abandon.removeEventListener('abort', follow);
    }
  }

  /** Waits for a wake-up (a request pending, stop) or the timeout, whichever comes first. */
  #idle(timeoutMs: number): Promise<void> {
    return this.#wakeUp.wait(timeoutMs, this.#stopClaiming.signal);
  }
}
