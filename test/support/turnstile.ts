/**
 * A counting gate for tests: `pass()` waits until the test has let one more caller through with
 * `allow(n)`. Lets a test hold workers at an exact point (after n tiles) without sleeping.
 */
export class Turnstile {
  #allowed = 0;
  #passed = 0;
  readonly #waiting: Array<() => void> = [];
  readonly #watchers: Array<{ count: number; resolve: () => void }> = [];

  /** Lets `count` more callers through (Infinity: everyone from now on). */
  allow(count: number): void {
    this.#allowed += count;
    while (this.#waiting.length > 0 && this.#passed < this.#allowed) this.#admit(this.#waiting.shift()!);
  }

  /** Resolves when the caller may go on. */
  pass(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#passed < this.#allowed) this.#admit(resolve);
      else this.#waiting.push(resolve);
    });
  }

  /** Resolves once `count` callers have passed in all. */
  passed(count: number): Promise<void> {
    if (this.#passed >= count) return Promise.resolve();
    return new Promise((resolve) => this.#watchers.push({ count, resolve }));
  }

  #admit(resolve: () => void): void {
    this.#passed += 1;
    resolve();
    for (const watcher of this.#watchers.filter((w) => w.count <= this.#passed)) {
      this.#watchers.splice(this.#watchers.indexOf(watcher), 1);
      watcher.resolve();
    }
  }
}
