/**
 * What compresses a strip's filtered rows into the zlib stream a stitchable strip PNG carries (the
 * framing is zlib-framing.ts's): node:zlib at level 1 with Z_RLE, or ISA-L at level 1 (shared/native/isal.ts,
 * 3.3–4.5× as fast, 2–3 % larger). The master names one per request in every task (STRIP_DEFLATE), so
 * all the strips of a mosaic are compressed alike and the PNG is the same bytes whichever worker did
 * which strip.
 */
import { constants, createDeflate } from 'node:zlib';
import { crc32, type Crc32 } from '../checksum.js';
import { TesseraError } from '../errors.js';
import { STRIP_DEFLATES, type StripDeflate } from '../types.js';
import { Isal, IsalUnavailableError } from '../native/isal.js';
import type { GrowingBytes } from '../growing-bytes.js';
import { FINAL_EMPTY_BLOCK, STREAM_TAIL_LENGTH, SYNC_FLUSH_MARKER, zlibHeader, zlibTrailer } from './zlib-framing.js';

/** How rows of codes are DEFLATEd by node:zlib, in strips and in the master's web previews alike. */
export const CODES_DEFLATE: { readonly level: number; readonly strategy: number } = { level: 1, strategy: constants.Z_RLE };

export interface StripDeflater {
  readonly name: StripDeflate;
  /** What computes the PNG's chunk CRCs (ISA-L's with ISA-L, 5–6× node:zlib's). */
  readonly crc32: Crc32;
  /** The 2-byte zlib header its streams begin with. */
  readonly zlibHeader: Buffer;
  /**
   * Compresses `data`, appending its raw DEFLATE (ending in a sync flush, no final block) to `out`;
   * resolves with the zlib stream's tail: the empty final block and the Adler-32 of `data`.
   */
  deflateRows(data: Uint8Array, out: GrowingBytes): Promise<Buffer>;
}

/** Room for `length` bytes of rows that do not compress at all (stored blocks' framing included, with margin); unwritten room costs no memory. */
export function deflatedRoom(length: number): number {
  return length + (length >> 8) + 1024;
}

/** The worker cannot compress strips as the task asks (its library is not installed there). */
export class StripDeflateUnavailableError extends TesseraError {}

/**
 * A zlib chunk size that takes `length` bytes of input in one output chunk: with zlib's default
 * 16 KiB chunks every chunk is a round trip to the thread pool (an 11 MB strip: 207 → 177 ms,
 * measured 2026-12-01).
 */
export function oneChunkFor(length: number): number {
  return Math.max(constants.Z_MIN_CHUNK, length + (length >> 6) + 1024);
}

export class ZlibStripDeflater implements StripDeflater {
  readonly name = 'zlib';
  readonly crc32 = crc32;
  readonly zlibHeader: Buffer;
  readonly #level: number;
  readonly #strategy: number;

  constructor({ level = CODES_DEFLATE.level, strategy = CODES_DEFLATE.strategy }: { level?: number; strategy?: number } = {}) {
    this.#level = level;
    this.#strategy = strategy;
    this.zlibHeader = zlibHeader(level, strategy);
  }

  /**
   * The sync flush, then (from Z_FINISH with no input left) the empty final block and the Adler-32,
   * which zlib computes natively (a third of the time the JavaScript adler32 took, and one pass over
   * the rows fewer). zlib writes the stream into buffers of its own; the rows are copied into `out`.
   */
  async deflateRows(data: Uint8Array, out: GrowingBytes): Promise<Buffer> {
    const deflate = createDeflate({ level: this.#level, strategy: this.#strategy, chunkSize: oneChunkFor(data.length) });
    const parts: Buffer[] = [];
    deflate.on('data', (part: Buffer) => parts.push(part));
    const done = new Promise<void>((resolve, reject) => {
      deflate.once('end', resolve);
      deflate.once('error', reject);
    });
    deflate.write(data);
    // end() only once the flush is through: a flush still queued when the stream ends becomes Z_FINISH.
    await Promise.race([new Promise<void>((resolve) => deflate.flush(constants.Z_SYNC_FLUSH, resolve)), done]);
    deflate.end();
    await done;
    const stream = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    const tailAt = stream.length - STREAM_TAIL_LENGTH;
    const flushEnd = stream.subarray(tailAt - SYNC_FLUSH_MARKER.length, tailAt);
    if (!flushEnd.equals(SYNC_FLUSH_MARKER) || !stream.subarray(tailAt, tailAt + FINAL_EMPTY_BLOCK.length).equals(FINAL_EMPTY_BLOCK)) {
      throw new Error('encodeStripPng: zlib did not end the stream with a sync flush and an empty final block');
    }
    if (!stream.subarray(0, 2).equals(this.zlibHeader)) throw new Error(`encodeStripPng: zlib began the stream with ${stream.subarray(0, 2).toString('hex')}, not ${this.zlibHeader.toString('hex')}`);
    out.append(stream.subarray(2, tailAt));
    return stream.subarray(tailAt);
  }
}

export class IsalStripDeflater implements StripDeflater {
  readonly name = 'isal';
  readonly crc32: Crc32;
  readonly zlibHeader = zlibHeader(1);
  readonly #isal: Isal;

  constructor(isal: Isal) {
    this.#isal = isal;
    this.crc32 = (data, initial) => isal.crc32(data, initial);
  }

  /** ISA-L writes the rows' DEFLATE straight into `out`'s memory. */
  async deflateRows(data: Uint8Array, out: GrowingBytes): Promise<Buffer> {
    const start = out.length;
    const { adler32 } = await this.#isal.syncFlushed(data, out);
    if (out.length - start < SYNC_FLUSH_MARKER.length || !out.bytes(out.length - SYNC_FLUSH_MARKER.length).equals(SYNC_FLUSH_MARKER)) {
      throw new Error('encodeStripPng: ISA-L did not end the stream with a sync flush');
    }
    return zlibTrailer(adler32);
  }
}

/**
 * A worker's strip deflaters, one per compression, made when a task first asks for it. ISA-L that
 * cannot be loaded is a StripDeflateUnavailableError for every task that names it.
 */
export class StripDeflaters {
  readonly #zlib = new ZlibStripDeflater();
  readonly #loadIsal: () => Promise<Isal>;
  #isal: Promise<Isal> | undefined;
  #isalDeflater: IsalStripDeflater | undefined;

  constructor(loadIsal: () => Promise<Isal> = () => Isal.load()) {
    this.#loadIsal = loadIsal;
  }

  /** The deflater a task names ("" and zlib: node:zlib). */
  async get(name: string): Promise<StripDeflater> {
    if (name === '' || name === 'zlib') return this.#zlib;
    if (name !== 'isal') throw new StripDeflateUnavailableError(`unknown strip compression "${name}" (this worker knows ${STRIP_DEFLATES.join(', ')}): run workers of the master's version`);
    this.#isal ??= this.#loadIsal();
    try {
      const isal = await this.#isal;
      this.#isalDeflater ??= new IsalStripDeflater(isal);
      return this.#isalDeflater;
    } catch (error) {
      if (!(error instanceof IsalUnavailableError)) throw error;
      throw new StripDeflateUnavailableError(`the master asks for strips compressed by ISA-L (STRIP_DEFLATE=isal), and this worker cannot load it: ${error.message}; install it here, or set STRIP_DEFLATE=zlib on the master`, { cause: error });
    }
  }

  close(): void {
    this.#isal?.then((isal) => isal.close(), () => undefined);
  }
}
