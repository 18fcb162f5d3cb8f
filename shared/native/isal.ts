/**
 * Intel ISA-L (Debian's libisal2), called through koffi, for two things node:zlib does more slowly.
 *
 * CRC-32 (zlib's, as PNG chunks carry it): 5–6× node:zlib's on a 7 MB buffer (2026-12-03, 0.25
 * against 1.35 ms); a master checking the full scene's 153 MB of strip chunks 13–24 ms instead of
 * 105–115 ms.
 *
 * igzip's level-1 DEFLATE that ends in a sync flush, which is what a stitchable strip needs:
 * 3.3–4.5× as fast as node:zlib at level 1 with Z_RLE and 2–3 % larger (2026-12-03, one 10980 × 1024 strip of the bench scene's NDVI: 27–30 ms against
 * 84–93 ms, 7.14 MB against 6.98 MB; the Landsat sample's NDVI and NDSI: 1.8 % and 2.9 % larger).
 * libdeflate, faster than zlib too, cannot end a stream without a final block.
 *
 * isal_deflate works on a `struct isal_zstream` the caller owns, which points at the input and the
 * output. The stream and the level's hash buffer live in native memory koffi allocates; the input is
 * the caller's array, read where it lies, and the output goes straight into the caller's GrowingBytes
 * (both off V8's heap, where nothing moves them, and held by the call until it ends). The calls run on libuv's thread pool
 * (`.async`), like node:zlib's. Each call in flight has a session of its own; sessions are kept for
 * the next strip.
 */
import { TesseraError, describeError } from '../errors.js';
import type { GrowingBytes } from '../growing-bytes.js';
import { callOnPool, loadNativeLibrary, type Koffi, type NativeFunction, type NativeLibrary } from './native-library.js';

/** ISA-L or koffi cannot be loaded here. */
export class IsalUnavailableError extends TesseraError {}

/** The file name the dynamic loader finds ISA-L 2.x under (Debian's libisal2). */
export const ISAL_FILE = 'libisal.so.2';

/**
 * The public fields of `struct isal_zstream` (igzip_lib.h; libisal.so.2's ABI), by byte offset. The
 * internal state that follows them is 82 320 bytes in ISA-L 2.30; STREAM_BYTES leaves room for more.
 */
const FIELD = { nextIn: 0, availIn: 8, nextOut: 16, availOut: 24, level: 40, levelBufSize: 44, levelBuf: 48, endOfStream: 56, flush: 58, gzipFlag: 60, histBits: 62 } as const;
const STREAM_BYTES = 256 * 1024;
/** ISAL_DEF_LVL1_LARGE of 2.30 (282 624 bytes), rounded up: level 1's hash tables and token buffer. */
const LEVEL1_BUF_BYTES = 512 * 1024;
const SYNC_FLUSH = 1;
const IGZIP_DEFLATE = 0;
const COMP_OK = 0;

type Pointer = unknown;

/** Room asked of the output before each isal_deflate call beyond what the input is likely to need. */
const OUTPUT_SLACK = 64 * 1024;

/** Native buffers for one compression at a time. */
interface Session {
  readonly stream: Pointer;
  readonly fields: DataView;
  readonly levelBuf: Pointer;
}

export interface SyncFlushedDeflate {
  /** The input's Adler-32, for the zlib stream's trailer. */
  readonly adler32: number;
}

export class Isal {
  readonly #koffi: Koffi;
  readonly #init: NativeFunction<[Pointer], void>;
  readonly #deflate: NativeFunction<[Pointer], number>;
  readonly #adler32: NativeFunction<[number, Uint8Array, number], number>;
  readonly #crc32: NativeFunction<[number, Uint8Array, number], number>;
  readonly #idle: Session[] = [];
  #closed = false;

  private constructor(koffi: Koffi, lib: NativeLibrary) {
    this.#koffi = koffi;
    this.#init = lib.func('isal_deflate_init', 'void', ['void *']) as NativeFunction<[Pointer], void>;
    this.#deflate = lib.func('isal_deflate', 'int', ['void *']) as NativeFunction<[Pointer], number>;
    this.#adler32 = lib.func('isal_adler32', 'uint32', ['uint32', 'const uint8_t *', 'uint64']) as NativeFunction<[number, Uint8Array, number], number>;
    // crc32_gzip_refl is zlib's CRC-32 (reflected IEEE), continuing from a previous value as zlib's does.
    this.#crc32 = lib.func('crc32_gzip_refl', 'uint32', ['uint32', 'const uint8_t *', 'uint64']) as NativeFunction<[number, Uint8Array, number], number>;
  }

  /** Loads koffi and ISA-L; an IsalUnavailableError saying why, when either is missing. */
  static async load(file: string = ISAL_FILE): Promise<Isal> {
    const { koffi, lib } = await loadNativeLibrary(file, 'libisal2', (message, cause) => new IsalUnavailableError(message, { cause }));
    try {
      return new Isal(koffi, lib);
    } catch (error) {
      throw new IsalUnavailableError(`${file} does not have the functions tessera calls (ISA-L 2.x): ${describeError(error)}`, { cause: error });
    }
  }

  /**
   * `data` compressed at level 1 into a sync-flushed raw DEFLATE stream (ending in 00 00 FF FF: no
   * header, no final block) appended to `out`, on the thread pool; neither may be touched until it settles.
   */
  async syncFlushed(data: Uint8Array, out: GrowingBytes): Promise<SyncFlushedDeflate> {
    if (this.#closed) throw new Error('isal: closed');
    const session = this.#idle.pop() ?? this.#session();
    try {
      void data.buffer; // a small array's bytes move off V8's heap, to stay where the address says
      const { fields } = session;
      this.#init(session.stream);
      fields.setBigUint64(FIELD.nextIn, this.#koffi.address(data), true);
      fields.setUint32(FIELD.availIn, data.byteLength, true);
      fields.setUint32(FIELD.level, 1, true);
      fields.setUint32(FIELD.levelBufSize, LEVEL1_BUF_BYTES, true);
      fields.setBigUint64(FIELD.levelBuf, this.#koffi.address(session.levelBuf), true);
      fields.setUint16(FIELD.endOfStream, 0, true);
      fields.setUint16(FIELD.flush, SYNC_FLUSH, true);
      fields.setUint16(FIELD.gzipFlag, IGZIP_DEFLATE, true);
      fields.setUint16(FIELD.histBits, 0, true);
      const [, adler32] = await Promise.all([
        this.#deflateInto(session, out, data.byteLength),
        callOnPool(this.#adler32, 1, data, data.byteLength).then((value) => value >>> 0),
      ]);
      return { adler32 };
    } finally {
      if (this.#closed) this.#free(session);
      else this.#idle.push(session);
    }
  }

  /** zlib's CRC-32 of `data`, continuing from `initial` (a CRC-32 of what came before), on this thread. */
  crc32(data: Uint8Array, initial = 0): number {
    // Nothing continues from nothing as zlib's does (ISA-L's answer for an empty buffer is not `initial`).
    return data.byteLength === 0 ? initial >>> 0 : this.#crc32(initial, data, data.byteLength) >>> 0;
  }

  /** Frees the native buffers; calls still in flight free theirs when they end. */
  close(): void {
    this.#closed = true;
    for (const session of this.#idle.splice(0)) this.#free(session);
  }

  /**
   * isal_deflate into `out` until the input is in and the flush is out: a call that fills the room it
   * was given may have more to give (the room grows for the next call), one that leaves room has
   * given all (SYNC_FLUSH ends what the input began).
   */
  async #deflateInto(session: Session, out: GrowingBytes, inputBytes: number): Promise<void> {
    const { fields } = session;
    for (let ask = inputBytes + OUTPUT_SLACK; ; ask *= 2) {
      // Exactly `ask` bytes, however much room `out` has from earlier use: where a stream needs more
      // than one call, the calls (and so the bytes) depend on the input alone.
      const room = out.room(ask);
      const size = Math.min(ask, 0xffff_ffff);
      fields.setBigUint64(FIELD.nextOut, this.#koffi.address(room), true);
      fields.setUint32(FIELD.availOut, size, true);
      const result = await callOnPool(this.#deflate, session.stream);
      if (result !== COMP_OK) throw new Error(`isal_deflate returned ${result}`);
      const left = fields.getUint32(FIELD.availOut, true);
      out.commit(size - left);
      if (left > 0) {
        if (fields.getUint32(FIELD.availIn, true) !== 0) throw new Error('isal_deflate left input over with room in its output');
        return;
      }
    }
  }

  #session(): Session {
    const stream = this.#koffi.alloc('uint8', STREAM_BYTES);
    return {
      stream,
      fields: new DataView(this.#koffi.view(stream, STREAM_BYTES)),
      levelBuf: this.#koffi.alloc('uint8', LEVEL1_BUF_BYTES),
    };
  }

  #free(session: Session): void {
    for (const pointer of [session.stream, session.levelBuf]) this.#koffi.free(pointer);
  }
}
