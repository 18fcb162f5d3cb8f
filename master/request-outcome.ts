/**
 * The writes that end a run (completed, failed, or released back to pending), made to land through
 * a database outage: each is retried while the database is unreachable (retryThroughOutage) until it
 * lands, or the fenced write answers false (the claim is gone: whoever holds the request now records
 * it; stop), or the outage outlasts its bound, or the master stops. A write that never lands leaves
 * the row `running`: once its heartbeat is REQUEST_STALE_MS old a master claims it again, so an
 * accepted request is never lost.
 */
import { describeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { OUTAGE_POLICY, retryThroughOutage, type OutageRetry } from './db/outage-retry.js';
import { endedUnderClaim, type RequestClaim, type RequestResult, type RequestStore } from './store/request-store.js';

/** A run's writes wait up to 10 minutes for the database; the mosaic is on the volume meanwhile. */
export const RUN_OUTAGE_RETRY: OutageRetry = Object.freeze({ policy: OUTAGE_POLICY, maxElapsedMs: 10 * 60_000 });
/** A stopping master hands its request back within 10 s, or leaves it to the stale-heartbeat takeover. */
export const RELEASE_OUTAGE_RETRY: OutageRetry = Object.freeze({ policy: OUTAGE_POLICY, maxElapsedMs: 10_000 });

export interface RequestOutcomeOptions {
  readonly store: RequestStore;
  readonly claim: RequestClaim;
  /** How completing and failing wait for the database. */
  readonly retry: OutageRetry;
  readonly log: Logger;
}

export class RequestOutcome {
  readonly #options: RequestOutcomeOptions;

  constructor(options: RequestOutcomeOptions) {
    this.#options = options;
  }

  /** Records `completed`; true once it landed, false when the claim is gone. */
  async complete(result: RequestResult, signal: AbortSignal): Promise<boolean> {
    const { store, claim } = this.#options;
    return this.#landed('completed', await this.#write('recording the completion', () => store.complete(claim, result), signal));
  }

  /** Records `failed` with `message`; true once it landed, false when the claim is gone. */
  async fail(message: string, signal: AbortSignal): Promise<boolean> {
    const { store, claim } = this.#options;
    return this.#landed('failed', await this.#write('recording the failure', () => store.fail(claim, message), signal));
  }

  /** Hands the request back to `pending` (the master is stopping: briefly, and heeding no signal). */
  release(): Promise<boolean> {
    const { store, claim, log } = this.#options;
    return retryThroughOutage('releasing the request', () => store.release(claim), { retry: RELEASE_OUTAGE_RETRY, log });
  }

  #write(what: string, write: () => Promise<boolean>, signal: AbortSignal): Promise<boolean> {
    return retryThroughOutage(what, write, { retry: this.#options.retry, signal, log: this.#options.log });
  }

  /**
   * A false after a retry may be this master's own earlier try, committed with its answer lost in
   * the outage: the row then shows this very claim with the status written.
   */
  async #landed(status: 'completed' | 'failed', held: boolean): Promise<boolean> {
    if (held) return true;
    const { store, claim, log } = this.#options;
    try {
      const row = await store.get(claim.id);
      const ours = row !== null && endedUnderClaim(row, claim, status);
      if (ours) log.info({ status }, 'the outcome had been recorded by an earlier try whose answer was lost');
      return ours;
    } catch (error) {
      log.debug({ error: describeError(error) }, 'cannot read the row back; taking the claim as gone');
      return false;
    }
  }
}
