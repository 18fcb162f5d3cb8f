/**
 * Typed arrays a worker reuses from one strip to the next: the source windows, the index codes and
 * the filtered rows are the same sizes strip after strip (a full Sentinel-2 strip: ~120 MB of them),
 * and allocating them afresh each time left the collector with most of that to clear, and a worker
 * peaking near 400 MB. Arrays handed out are zeroed, as new ones are (sparse blocks and skipped
 * pixels rely on it), unless the caller will write every value itself and says so.
 */
import { GrowingBytes } from '../shared/growing-bytes.js';
import type { IndexTile } from '../shared/proto/tile-service.js';
import { SAMPLE_ARRAYS, type SampleArray, type SampleType } from '../shared/types.js';


export class ScratchArrays {
  readonly #free = new Map<string, SampleArray[]>();
  readonly #taken = new Set<SampleArray>();
  readonly #growing = new Map<string, GrowingBytes>();
  readonly #keepPerSize: number;

  /** @param keepPerSize arrays of one type and length kept for reuse (the rest are left to the collector) */
  constructor(keepPerSize = 4) {
    this.#keepPerSize = keepPerSize;
  }

  /**
   * An array of `length` values of `type`: zeroed, or with `zeroed` false, holding whatever an
   * earlier strip left in it (for a caller that overwrites every value: zeroing a full strip's windows
   * is ~70 MB of stores).
   */
  take(type: SampleType, length: number, zeroed = true): SampleArray {
    const array = this.#free.get(keyOf(type, length))?.pop();
    const taken = array ? (zeroed ? array.fill(0) : array) : new SAMPLE_ARRAYS[type](length);
    this.#taken.add(taken);
    return taken;
  }

  /** Bytes (codes, filtered rows): zeroed unless `zeroed` is false. */
  bytes(length: number, zeroed = true): Uint8Array {
    return this.take('uint8', length, zeroed) as Uint8Array;
  }

  /**
   * The slot's memory named `key` for output whose size changes from strip to strip (an index's strip
   * PNG): the same GrowingBytes every time, so what was built in it last is overwritten when it is
   * used again (a result must not hold it past releaseAll; see TileWorker's compute).
   */
  growing(key: string): GrowingBytes {
    let bytes = this.#growing.get(key);
    if (!bytes) {
      bytes = new GrowingBytes();
      this.#growing.set(key, bytes);
    }
    return bytes;
  }

  /** Every array taken since the last call is free for reuse again. */
  releaseAll(): void {
    for (const array of this.#taken) {
      const key = keyOf(typeOf(array), array.length);
      const list = this.#free.get(key) ?? [];
      if (list.length < this.#keepPerSize) list.push(array);
      this.#free.set(key, list);
    }
    this.#taken.clear();
  }
}

/**
 * Gives each tile's PNG bytes of its own, in case it is a view of a slot's memory (growing()): for a
 * result that outlives its strip, such as one sent over gRPC while the slot builds the next strip in
 * that memory (and sent again, re-encoded, when the master did not answer).
 */
export function ownPngs(tiles: IndexTile[]): void {
  for (const tile of tiles) if (tile.png instanceof Uint8Array) tile.png = Buffer.from(tile.png);
}

function keyOf(type: SampleType, length: number): string {
  return `${type}:${length}`;
}

function typeOf(array: SampleArray): SampleType {
  for (const [type, Ctor] of Object.entries(SAMPLE_ARRAYS)) if (array instanceof Ctor && array.constructor === Ctor) return type as SampleType;
  return 'uint8';
}
