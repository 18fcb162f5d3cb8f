/**
 * Buffers reused for stored blocks once they are done with: the SourceChunk messages the master
 * sends (reused once a message has gone out) and the blocks a worker reads from the files itself
 * (once decoded). A strip moves tens of MB of blocks (570 MB for a full Sentinel-2 tile), and a fresh
 * buffer per block made garbage-collection the largest part of the master's CPU and a worker's peak
 * memory grow with the garbage waiting for it. Up to `keep` buffers wait for reuse; one that never
 * comes back (its call was cancelled, its tile failed) is simply collected.
 */
import type { MessageMemory } from './proto/source-chunk-wire.js';

export class BufferPool implements MessageMemory {
  readonly #free: Buffer[] = [];
  readonly #keep: number;
  readonly #minimumSize: number;

  /** @param minimumSize every buffer is at least this big, so any block up to it fits a reused one */
  constructor(options: { readonly keep: number; readonly minimumSize: number }) {
    this.#keep = options.keep;
    this.#minimumSize = options.minimumSize;
  }

  take(size: number): Buffer {
    const at = this.#free.findIndex((buffer) => buffer.length >= size);
    if (at >= 0) return this.#free.splice(at, 1)[0]!;
    return Buffer.allocUnsafe(Math.max(size, this.#minimumSize));
  }

  give(buffer: Buffer): void {
    if (this.#free.length < this.#keep) this.#free.push(buffer);
  }

  /** Buffers waiting for reuse (for tests). */
  get idle(): number {
    return this.#free.length;
  }
}
