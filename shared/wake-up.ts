/**
 * A wait that a wake-up ends early: for a loop that looks at something (a table, a row) every so
 * often and is told when it may have changed. A wake-up that comes while the loop is not waiting
 * (it is looking) is kept, so the next wait returns at once and nothing is missed between a look
 * and a wait. One waiter at a time.
 */
export class WakeUp {
  #pending = false;
  #woken: (() => void) | undefined;

  /** Ends the wait under way, or the next one. */
  wake(): void {
    this.#pending = true;
    this.#woken?.();
  }

  /** Forgets the wake-ups so far: the caller is about to look afresh. */
  clear(): void {
    this.#pending = false;
  }

  /** Resolves at once if woken since the last clear(), else when woken, after `ms`, or when `signal` aborts. */
  async wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.#pending || signal?.aborted) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.#woken = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      this.#woken = done;
    });
  }
}
