/**
 * Inflating a DEFLATE block (TIFF compression 8 or 32946, a zlib stream): by libdeflate where it is
 * installed (libdeflate.ts, about 1.8× as fast), else by node:zlib. Both check the stream's Adler-32,
 * give the same bytes and the same errors; which one a worker uses is INFLATE_LIBRARY's choice.
 */
import { constants } from 'node:buffer';
import { promisify } from 'node:util';
import { inflate } from 'node:zlib';
import type { InflateLibrary } from '../config/worker-config.js';
import type { Logger } from '../logger.js';
import { CorruptBlockError } from './block-errors.js';
import { Libdeflate, LibdeflateUnavailableError } from '../native/libdeflate.js';

export interface BlockInflater {
  readonly name: 'libdeflate' | 'node:zlib';
  /**
   * What the zlib stream `data` inflates to, from offset 0 of memory nobody else holds: at least the
   * `expected` bytes a block of its format needs when the stream has them (TIFF allows padding past
   * them; a shorter result is the caller's to refuse). A CorruptBlockError for a bad stream, and for
   * one that inflates to more than a decompression bomb's limit. `into`, at least `expected` +
   * INFLATE_SLACK bytes from offset 0: memory an inflater that writes in place (libdeflate) may
   * inflate into, the result then a view of it from offset 0 (node:zlib allocates its own).
   */
  inflate(data: Uint8Array, expected: number, what: string, into?: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>>;
  /** Frees what the inflater holds (libdeflate's decompressors). */
  close(): void;
}

/** Padding past the samples is allowed, but no block may inflate beyond this (a decompression bomb). */
const MAX_INFLATED_FLOOR = 256 * 1024 * 1024;
/** Bytes an output buffer has beyond the block's size, so that padding up to this much needs no second try. */
export const INFLATE_SLACK = 1024;

const inflateAsync = promisify(inflate);

export class ZlibInflater implements BlockInflater {
  readonly name = 'node:zlib';

  async inflate(data: Uint8Array, expected: number, what: string): Promise<Uint8Array<ArrayBuffer>> {
    const limit = Math.min(Math.max(4 * expected, MAX_INFLATED_FLOOR), constants.MAX_LENGTH);
    try {
      // One output chunk a little larger than the block: with zlib's default 16 KiB chunks the async
      // inflate makes one thread-pool round trip per chunk and then concatenates them (measured ~4×
      // slower); a chunk of exactly the block's size fills up, and node:zlib then allocates a second
      // one and goes back to the pool once more to find the end (2 MB blocks: 6.1 against 6.8 ms).
      return (await inflateAsync(data, { chunkSize: expected + INFLATE_SLACK, maxOutputLength: limit })) as Uint8Array<ArrayBuffer>;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') {
        throw new CorruptBlockError(`${what} inflates to more than ${limit} bytes (${expected} expected)`, { cause: error });
      }
      throw new CorruptBlockError(`${what}: DEFLATE data cannot be inflated: ${(error as Error).message}`, { cause: error });
    }
  }

  close(): void {}
}

export class LibdeflateInflater implements BlockInflater {
  readonly name = 'libdeflate';
  readonly #libdeflate: Libdeflate;
  /**
   * Decides every stream libdeflate does not inflate into the block's size: one with more padding
   * than INFLATE_SLACK (libdeflate needs room for all of it), and a bad one (node:zlib's message
   * says what is wrong: a header check, a distance, the Adler-32). So both inflaters give the same
   * bytes and the same errors.
   */
  readonly #zlib = new ZlibInflater();

  constructor(libdeflate: Libdeflate) {
    this.#libdeflate = libdeflate;
  }

  async inflate(data: Uint8Array, expected: number, what: string, into?: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
    const size = expected + INFLATE_SLACK;
    const output = into && into.byteOffset === 0 && into.byteLength >= size ? into.subarray(0, size) : new Uint8Array(size);
    const { status, bytes } = await this.#libdeflate.zlibDecompress(data, output);
    if (status === 'ok') return output.subarray(0, bytes);
    return this.#zlib.inflate(data, expected, what);
  }

  close(): void {
    this.#libdeflate.close();
  }
}

export interface InflaterChoiceOptions {
  readonly log?: Logger;
  /** How libdeflate is loaded (tests pass one that fails). */
  readonly load?: () => Promise<Libdeflate>;
}

/**
 * The inflater INFLATE_LIBRARY asks for. `auto` logs why it took node:zlib when it did;
 * `libdeflate` rejects with a LibdeflateUnavailableError where libdeflate cannot be loaded.
 */
export async function createBlockInflater(library: InflateLibrary, { log, load = () => Libdeflate.load() }: InflaterChoiceOptions = {}): Promise<BlockInflater> {
  if (library === 'zlib') return new ZlibInflater();
  try {
    return new LibdeflateInflater(await load());
  } catch (error) {
    if (library === 'libdeflate' || !(error instanceof LibdeflateUnavailableError)) throw error;
    log?.info({ inflate: 'node:zlib', why: error.message }, 'libdeflate is not installed; blocks inflate with node:zlib (about 1.8× slower)');
    return new ZlibInflater();
  }
}
