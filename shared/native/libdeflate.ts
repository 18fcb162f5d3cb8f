/**
 * libdeflate's whole-buffer zlib decompressor (Debian's libdeflate0, the library libtiff itself
 * uses), called through koffi. It inflates Sentinel-2 blocks 1.5–1.8× as fast as node:zlib, and
 * inflating is the largest single cost of a worker (2026-12-03: `npm run bench:kernels`' 1024²
 * block 5.5 against 8.4 ms; the bench scene's B04 blocks 490 against 280 MB/s of output; the full
 * scene with 2 workers 6.3 s of the workers' CPU instead of 7.5–8.0 s).
 *
 * koffi (a foreign-function interface with prebuilt binaries, no compiler at install) is why this
 * is a few lines and not a native addon to build on every machine. Calls run on libuv's thread pool
 * (`.async`), like node:zlib's, so the event loop stays free and several blocks inflate at once;
 * a decompressor is not thread-safe, so each call in flight has its own.
 */
import { TesseraError, describeError } from '../errors.js';
import { callOnPool, loadNativeLibrary, type NativeFunction } from './native-library.js';

/** libdeflate or koffi cannot be loaded here. */
export class LibdeflateUnavailableError extends TesseraError {}

/** libdeflate_result, as libdeflate.h numbers it. */
const RESULTS = ['ok', 'bad-data', 'short-output', 'insufficient-space'] as const;
export type DecompressStatus = (typeof RESULTS)[number];

export interface Decompressed {
  readonly status: DecompressStatus;
  /** Bytes written to the output ('ok' only; 0 otherwise). */
  readonly bytes: number;
}

/** An opaque `struct libdeflate_decompressor *`, as koffi hands it back. */
type Decompressor = unknown;
type DecompressArgs = [Decompressor, Uint8Array, number, Uint8Array, number, number[]];

/** The file name the dynamic loader finds libdeflate 1.x under (Debian's libdeflate0). */
export const LIBDEFLATE_FILE = 'libdeflate.so.0';

export class Libdeflate {
  readonly #alloc: NativeFunction<[], Decompressor>;
  readonly #free: NativeFunction<[Decompressor], void>;
  readonly #zlibDecompress: NativeFunction<DecompressArgs, number>;
  /** Decompressors no call is using; a call takes one (or allocates one) and gives it back. */
  readonly #idle: Decompressor[] = [];
  #closed = false;

  private constructor(functions: { alloc: NativeFunction<[], Decompressor>; free: NativeFunction<[Decompressor], void>; zlibDecompress: NativeFunction<DecompressArgs, number> }) {
    this.#alloc = functions.alloc;
    this.#free = functions.free;
    this.#zlibDecompress = functions.zlibDecompress;
  }

  /** Loads koffi and libdeflate; a LibdeflateUnavailableError saying why, when either is missing. */
  static async load(file: string = LIBDEFLATE_FILE): Promise<Libdeflate> {
    const { koffi, lib } = await loadNativeLibrary(file, 'libdeflate0', (message, cause) => new LibdeflateUnavailableError(message, { cause }));
    try {
      // Anonymous: koffi's type names are the process's, and a second load would find this one taken.
      const pointer = koffi.pointer(koffi.opaque());
      return new Libdeflate({
        alloc: lib.func('libdeflate_alloc_decompressor', pointer, []) as NativeFunction<[], Decompressor>,
        free: lib.func('libdeflate_free_decompressor', 'void', [pointer]) as NativeFunction<[Decompressor], void>,
        zlibDecompress: lib.func('libdeflate_zlib_decompress', 'int', [
          pointer,
          'const uint8_t *',
          'size_t',
          'uint8_t *',
          'size_t',
          koffi.out(koffi.pointer('size_t')),
        ]) as NativeFunction<DecompressArgs, number>,
      });
    } catch (error) {
      throw new LibdeflateUnavailableError(`${file} does not have the functions tessera calls (libdeflate 1.x): ${describeError(error)}`, { cause: error });
    }
  }

  /**
   * Inflates the zlib stream `input` (its Adler-32 checked) into `output`, on the thread pool.
   * Neither array may change until the promise settles.
   */
  async zlibDecompress(input: Uint8Array, output: Uint8Array): Promise<Decompressed> {
    if (this.#closed) throw new Error('libdeflate: closed');
    // Reading .buffer moves a small typed array's bytes off V8's heap, where the collector could
    // otherwise move them while the other thread reads or writes them.
    void input.buffer;
    void output.buffer;
    const decompressor = this.#idle.pop() ?? this.#alloc();
    const actual = [0];
    try {
      const result = await callOnPool(this.#zlibDecompress, decompressor, input, input.byteLength, output, output.byteLength, actual);
      const status = RESULTS[result];
      if (status === undefined) throw new Error(`libdeflate_zlib_decompress returned ${result}`);
      return { status, bytes: status === 'ok' ? (actual[0] ?? 0) : 0 };
    } finally {
      if (this.#closed) this.#free(decompressor);
      else this.#idle.push(decompressor);
    }
  }

  /** Frees the decompressors; calls still in flight free theirs when they end. */
  close(): void {
    this.#closed = true;
    for (const decompressor of this.#idle.splice(0)) this.#free(decompressor);
  }
}
