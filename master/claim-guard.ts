/**
 * Keeps a master's claim on the request it runs, and tells it the moment the claim is gone. It
 * heart-beats the row, and every fenced write (heartbeat, progress) that touches no row means the
 * claim was taken over (this master stalled past REQUEST_STALE_MS and another one claimed the
 * request) or the request was finished elsewhere: `signal` aborts with a ClaimLostError, and the run
 * must stop and write nothing more: no outputs, no row update, no upload. Before anything that must
 * only happen under the claim (publishing the outputs, uploading them), `confirm` renews the claim
 * and throws when it is gone; renewed just then, no other master can take it over for a full
 * REQUEST_STALE_MS. A database that does not answer is not a lost claim: the run goes on (heartbeats
 * fail quietly), `confirm` waits for the database to come back (retryThroughOutage), and if another
 * master took the request over meanwhile, the first write after the outage finds the claim gone.
 *
 * A user cancelling the request (RequestStore.cancel) ends the claim too: the guard hears it at once
 * from the store's onFinished wake-up (NOTIFY), else from reading the row every `cancelCheckMs`
 * (the embedded database delivers no NOTIFY), else from the next fenced write; `signal` then aborts
 * with a RequestCancelledError, a ClaimLostError like any other: the run writes nothing more.
 * A fenced write that touches no row because the request has *ended* under this very claim is no
 * takeover: a progress update or heartbeat sent before the run recorded its outcome can reach the
 * row after it (another connection, a busy server). The run is stopped all the same, but the
 * warning is only for a claim that another master (or anyone) really took; once the runner has
 * stopped the guard, late answers are ignored altogether.
 */
import { TesseraError, describeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { retryThroughOutage, type OutageRetry } from './db/outage-retry.js';
import { endedUnderClaim, type RequestClaim, type RequestStore, type Unsubscribe } from './store/request-store.js';

/** The master no longer holds the request it was running. Not the request's fault: nothing is recorded. */
export class ClaimLostError extends TesseraError {}

/** A user cancelled the request this master was running: nothing more is written, nothing published. */
export class RequestCancelledError extends ClaimLostError {}

export interface ClaimGuardOptions {
  readonly claim: RequestClaim;
  readonly store: RequestStore;
  readonly heartbeatMs: number;
  /** How often the row is read to notice a cancellation without a NOTIFY. */
  readonly cancelCheckMs: number;
  /** How `confirm` waits for an unreachable database. */
  readonly outageRetry: OutageRetry;
  /** The master is stopping: `confirm` stops waiting for the database. */
  readonly stopSignal: AbortSignal;
  readonly log: Logger;
}

export class ClaimGuard {
  readonly #claim: RequestClaim;
  readonly #store: RequestStore;
  readonly #log: Logger;
  readonly #lost = new AbortController();
  readonly #timer: NodeJS.Timeout;
  readonly #cancelCheck: NodeJS.Timeout;
  readonly #unlisten: Promise<Unsubscribe | undefined>;
  readonly #outageRetry: OutageRetry;
  readonly #stopSignal: AbortSignal;
  #stopped = false;

  constructor(options: ClaimGuardOptions) {
    this.#claim = options.claim;
    this.#store = options.store;
    this.#log = options.log;
    this.#outageRetry = options.outageRetry;
    this.#stopSignal = options.stopSignal;
    this.#timer = setInterval(() => {
      this.#store.heartbeat(this.#claim).then(
        (held) => this.note(held, 'heartbeat'),
        (error: unknown) => this.#log.warn({ error: describeError(error) }, 'heartbeat failed; the run goes on'),
      );
    }, options.heartbeatMs);
    this.#cancelCheck = setInterval(() => void this.#checkCancelled(), options.cancelCheckMs);
    this.#unlisten = this.#store
      .onFinished((id, status) => {
        if (id === this.#claim.id && status === 'cancelled') this.#cancelled('cancel notice');
      })
      .catch((error: unknown) => {
        this.#log.warn({ error: describeError(error) }, 'cannot listen for cancellation; reading the row instead');
        return undefined;
      });
  }

  get claim(): RequestClaim {
    return this.#claim;
  }

  /** Aborted (with a ClaimLostError) once the claim is known to be gone. */
  get signal(): AbortSignal {
    return this.#lost.signal;
  }

  /** Takes the result of a fenced write: false means the claim is gone (ignored once the guard is stopped). */
  note(held: boolean, what: string): void {
    if (held || this.#stopped || this.#lost.signal.aborted) return;
    const { id, masterId, attempt } = this.#claim;
    this.#lost.abort(new ClaimLostError(`master ${masterId} no longer holds request ${id} (claim ${attempt})`));
    void this.#explainLoss(what);
  }

  /** Says why the claim's writes touch nothing: taken over (a warning), or the request ended under this claim. */
  async #explainLoss(what: string): Promise<void> {
    const { id, masterId, attempt } = this.#claim;
    const row = await this.#store.get(id).catch(() => null);
    if (row && endedUnderClaim(row, this.#claim)) {
      this.#log.debug({ noticedBy: what, status: row.status }, 'a write sent before the request ended reached it after: nothing more to write');
      return;
    }
    if (row?.status === 'cancelled') {
      this.#log.info({ noticedBy: what }, 'request cancelled: stopping, dropping its tiles, publishing nothing');
      return;
    }
    this.#log.warn({ masterId, attempt, noticedBy: what, heldBy: row?.claimedBy ?? null, status: row?.status ?? null }, 'lost the claim on the request (another master took it over, or it ended): stopping, writing nothing more');
  }

  /**
   * Renews the claim now, waiting for the database if it is unreachable; throws the ClaimLostError
   * when the claim is gone (a DatabaseOutageError when the database stays away too long).
   */
  async confirm(what: string): Promise<void> {
    this.#lost.signal.throwIfAborted();
    const held = await retryThroughOutage(`renewing the claim before ${what}`, () => this.#store.heartbeat(this.#claim), {
      retry: this.#outageRetry,
      signal: AbortSignal.any([this.#stopSignal, this.#lost.signal]),
      log: this.#log,
    });
    this.note(held, what);
    this.#lost.signal.throwIfAborted();
  }

  /**
   * Whether the claim ended because a user cancelled the request: the signal says so, or (a fenced
   * write found the claim gone first) the row does. False when the row cannot be read.
   */
  async wasCancelled(): Promise<boolean> {
    if (this.#lost.signal.reason instanceof RequestCancelledError) return true;
    try {
      return (await this.#store.get(this.#claim.id))?.status === 'cancelled';
    } catch {
      return false;
    }
  }

  /** The run has ended (its outcome recorded, or given up): no more heartbeats, late answers ignored. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    clearInterval(this.#cancelCheck);
    void this.#unlisten.then((unlisten) => unlisten?.()).catch(() => undefined);
  }

  async #checkCancelled(): Promise<void> {
    if (this.#lost.signal.aborted) return;
    try {
      if ((await this.#store.get(this.#claim.id))?.status === 'cancelled') this.#cancelled('status check');
    } catch (error) {
      this.#log.debug({ error: describeError(error) }, 'cannot read the row to check for cancellation; the run goes on');
    }
  }

  #cancelled(noticedBy: string): void {
    if (this.#lost.signal.aborted) return;
    this.#log.info({ noticedBy }, 'request cancelled: stopping, dropping its tiles, publishing nothing');
    this.#lost.abort(new RequestCancelledError(`request ${this.#claim.id} was cancelled`));
  }
}
