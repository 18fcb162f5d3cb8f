/**
 * Keeps a master's claim on the request it runs, and tells it the moment the claim is gone. It
 * heart-beats the row, and every fenced write (heartbeat, progress) that touches no row means the
 * claim was taken over (this master stalled past REQUEST_STALE_MS and another one claimed the
 * request) or the request was finished elsewhere: `signal` aborts with a ClaimLostError, and the run
 * must stop and write nothing more: no outputs, no row update, no upload. Before anything that must
 * only happen under the claim (publishing the outputs, uploading them), `confirm` renews the claim
 * and throws when it is gone; renewed just then, no other master can take it over for a full
 * REQUEST_STALE_MS. A database that does not answer is not a lost claim: the run goes on, and if the
 * outage outlasts the stale limit, the next write after it finds the claim gone.
 */
import { TesseraError, describeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { RequestClaim, RequestStore } from './store/request-store.js';

/** The master no longer holds the request it was running. Not the request's fault: nothing is recorded. */
export class ClaimLostError extends TesseraError {}

export class ClaimGuard {
  readonly #claim: RequestClaim;
  readonly #store: RequestStore;
  readonly #log: Logger;
  readonly #lost = new AbortController();
  readonly #timer: NodeJS.Timeout;

  constructor(options: { readonly claim: RequestClaim; readonly store: RequestStore; readonly heartbeatMs: number; readonly log: Logger }) {
    this.#claim = options.claim;
    this.#store = options.store;
    this.#log = options.log;
    this.#timer = setInterval(() => {
      this.#store.heartbeat(this.#claim).then(
        (held) => this.note(held, 'heartbeat'),
        (error: unknown) => this.#log.warn({ error: describeError(error) }, 'heartbeat failed; the run goes on'),
      );
    }, options.heartbeatMs);
  }

  get claim(): RequestClaim {
    return this.#claim;
  }

  /** Aborted (with a ClaimLostError) once the claim is known to be gone. */
  get signal(): AbortSignal {
    return this.#lost.signal;
  }

  /** Takes the result of a fenced write: false means the claim is gone. */
  note(held: boolean, what: string): void {
    if (held || this.#lost.signal.aborted) return;
    const { id, masterId, attempt } = this.#claim;
    this.#log.warn({ masterId, attempt, noticedBy: what }, 'lost the claim on the request (another master took it over, or it ended): stopping, writing nothing more');
    this.#lost.abort(new ClaimLostError(`master ${masterId} no longer holds request ${id} (claim ${attempt})`));
  }

  /** Renews the claim now; throws the ClaimLostError when it is gone. */
  async confirm(what: string): Promise<void> {
    this.#lost.signal.throwIfAborted();
    this.note(await this.#store.heartbeat(this.#claim), what);
    this.#lost.signal.throwIfAborted();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
