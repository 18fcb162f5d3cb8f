/**
 * Buffers for the SourceChunk messages the master sends, reused once a message has gone out: the
 * master streams every strip's blocks (570 MB for a full Sentinel-2 tile), and a fresh buffer per
 * block made garbage-collection the largest part of its CPU. Up to `keep` buffers wait for reuse;
 * one that never comes back (its call was cancelled) is simply collected.
 */
import type { MessageMemory } from '../../shared/proto/source-chunk-wire.js';

export class MessageBuffers implements MessageMemory {
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
