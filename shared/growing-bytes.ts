/**
 * Bytes written one part after another into memory that is kept for the next use: a worker builds
 * each index's strip PNG (7 MB on a full Sentinel-2 strip) in one of these, strip after strip. A
 * fresh buffer per strip cost more than the copy into it: on this VM a page of memory the process
 * has not touched before costs 2-3 ms per MB (the host lends it anew), and a worker spent about
 * 0.3-0.45 s of a full scene's ~3 s of CPU allocating and filling the PNGs' buffers (2026-12-04).
 *
 * The memory comes from Buffer.allocUnsafeSlow: never zeroed (every byte handed out was written),
 * its own ArrayBuffer (not a slice of Node's shared pool), outside V8's heap, where nothing moves it,
 * so native code may write into it by address. Reserved but unwritten room costs no resident memory.
 */
export class GrowingBytes {
  #buffer: Buffer;
  #length = 0;

  constructor(capacity = 0) {
    this.#buffer = Buffer.allocUnsafeSlow(capacity);
  }

  /** Bytes written since the last reset. */
  get length(): number {
    return this.#length;
  }

  /** Forget what was written, keeping the memory, with room for at least `capacity` bytes. */
  reset(capacity = 0): void {
    this.#length = 0;
    if (this.#buffer.length < capacity) this.#buffer = Buffer.allocUnsafeSlow(capacity);
  }

  append(bytes: Uint8Array): void {
    this.room(bytes.length).set(bytes);
    this.#length += bytes.length;
  }

  /**
   * At least `size` bytes of room after what is written, to write into (growing the memory when
   * needed); commit(n) then counts the first n of them as written. Valid until the next call.
   */
  room(size: number): Buffer {
    const needed = this.#length + size;
    if (needed > this.#buffer.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(needed, Math.ceil(this.#buffer.length * 1.5)));
      this.#buffer.copy(grown, 0, 0, this.#length);
      this.#buffer = grown;
    }
    return this.#buffer.subarray(this.#length);
  }

  /** Count `size` more bytes of room() as written. */
  commit(size: number): void {
    if (!Number.isInteger(size) || size < 0 || this.#length + size > this.#buffer.length) {
      throw new RangeError(`GrowingBytes: cannot commit ${size} bytes after ${this.#length} of ${this.#buffer.length}`);
    }
    this.#length += size;
  }

  /** What was written: a view, valid until the next reset or write (which may move or overwrite it). */
  bytes(start = 0, end = this.#length): Buffer {
    return this.#buffer.subarray(start, Math.min(end, this.#length));
  }
}
