/**
 * Stitches run side by side; a rewind of the mosaic (a banned worker's strips taken out) runs alone:
 * it waits for the stitches under way to end, and new ones wait for it.
 */
export class StitchGate {
  #active = 0;
  #idle: Array<() => void> = [];
  #exclusive: Promise<void> | undefined;

  /** Runs `stitch` beside the others, once no exclusive section is under way. */
  async shared<T>(stitch: () => Promise<T>): Promise<T> {
    while (this.#exclusive) await this.#exclusive;
    this.#active += 1;
    try {
      return await stitch();
    } finally {
      this.#active -= 1;
      if (this.#active === 0) for (const wake of this.#idle.splice(0)) wake();
    }
  }

  /** Runs `section` alone: after every stitch under way, before any new one (or other section). */
  async exclusive<T>(section: () => Promise<T>): Promise<T> {
    while (this.#exclusive) await this.#exclusive;
    let release!: () => void;
    this.#exclusive = new Promise<void>((resolve) => (release = resolve));
    try {
      if (this.#active > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
      return await section();
    } finally {
      this.#exclusive = undefined;
      release();
    }
  }
}
