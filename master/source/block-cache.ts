/**
 * The compressed blocks of one file that recent tiles read, kept up to a byte budget (least
 * recently used out first). Neighbouring tiles of a resampled grid share source blocks; without
 * this each of them fetched the block again (a remote EarthDaily box fetched 86 % of the file
 * where 6 % was needed). Concurrent reads of the same block share one fetch.
 */

export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

/** Fetches several ranges of the file in one call (geotiff's source.fetch). */
export type RangeFetcher = (ranges: readonly ByteRange[]) => Promise<readonly ArrayBufferLike[]>;

export const DEFAULT_BLOCK_CACHE_BYTES = 64 * 1024 * 1024;

interface Entry {
  readonly data: Promise<Buffer>;
  readonly bytes: number;
}

export class BlockCache {
  readonly #maxBytes: number;
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;
  #hits = 0;
  #misses = 0;

  constructor(maxBytes: number = DEFAULT_BLOCK_CACHE_BYTES) {
    this.#maxBytes = maxBytes;
  }

  /** The bytes of each range, from the cache where possible; the misses are fetched in one call. */
  async read(ranges: readonly ByteRange[], fetch: RangeFetcher): Promise<Buffer[]> {
    const results: Promise<Buffer>[] = new Array<Promise<Buffer>>(ranges.length);
    const missing: { range: ByteRange; at: number }[] = [];
    ranges.forEach((range, at) => {
      const key = keyOf(range);
      const entry = this.#entries.get(key);
      if (!entry) {
        this.#misses += 1;
        missing.push({ range, at });
        return;
      }
      this.#hits += 1;
      this.#entries.delete(key); // re-insert: most recently used last
      this.#entries.set(key, entry);
      results[at] = entry.data;
    });
    if (missing.length > 0) {
      const batch = fetch(missing.map((m) => m.range));
      missing.forEach(({ range, at }, i) => {
        const key = keyOf(range);
        const data = batch.then((buffers) => Buffer.from(buffers[i] as ArrayBuffer));
        data.catch(() => this.#forget(key, data)); // a failed fetch is not remembered
        this.#remember(key, { data, bytes: range.length });
        results[at] = data;
      });
    }
    return Promise.all(results);
  }

  stats(): { hits: number; misses: number; bytes: number } {
    return { hits: this.#hits, misses: this.#misses, bytes: this.#bytes };
  }

  #remember(key: string, entry: Entry): void {
    this.#entries.set(key, entry);
    this.#bytes += entry.bytes;
    for (const [oldKey, old] of this.#entries) {
      if (this.#bytes <= this.#maxBytes || oldKey === key) break;
      this.#entries.delete(oldKey);
      this.#bytes -= old.bytes;
    }
  }

  #forget(key: string, data: Promise<Buffer>): void {
    const entry = this.#entries.get(key);
    if (!entry || entry.data !== data) return;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
  }
}

function keyOf(range: ByteRange): string {
  return `${range.offset}:${range.length}`;
}
