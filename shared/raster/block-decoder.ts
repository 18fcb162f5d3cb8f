/**
 * Decodes one internal block of a TIFF exactly as stored (a tile, or a strip) into its samples.
 *
 * DEFLATE (the compression of Sentinel-2 COGs) is inflated on libuv's thread pool (by libdeflate
 * where it is installed, else node:zlib: block-inflater.ts), so the event loop stays free and
 * several blocks can inflate at once; the predictor is then undone here
 * (block-predictor.ts). Uncompressed blocks are copied. Every other compression falls back to
 * geotiff's JavaScript decoders for the decompression only; the predictor is still undone here, so
 * all compressions share one predictor and one byte-order path.
 *
 * Big-endian blocks are byte-swapped to the host's order (before undoing predictor 2, as libtiff
 * does). Predictor 3 needs no swap: its byte planes are most significant first in either byte order.
 *
 * Measured on a 1024² uint16 DEFLATE + predictor 2 block (see bench/decode-kernels.ts): several times
 * faster than geotiff's decoder (pako inflate + its predictor loop).
 */
import type { BaseDecoder } from 'geotiff';
import { CorruptBlockError, TruncatedBlockError, UnsupportedBlockError } from './block-errors.js';
import { INFLATE_SLACK, ZlibInflater, type BlockInflater } from './block-inflater.js';
import { undoFloatingPointPredictor, undoHorizontalPredictor } from './block-predictor.js';

export interface BlockFormat {
  /** TIFF Compression tag. */
  readonly compression: number;
  /** 1 none, 2 horizontal, 3 floating point. */
  readonly predictor: number;
  /** Every sample has the same (8, 16, 32, 64). */
  readonly bitsPerSample: number;
  /** 1 uint, 2 int, 3 float. */
  readonly sampleFormat: 1 | 2 | 3;
  /** Samples interleaved in this block (chunky: the file's; planar: 1). */
  readonly samplesPerPixel: number;
  /** Block width in pixels (tile width, or image width for strips). */
  readonly width: number;
  /**
   * Rows stored in this block (tile height; for the last strip of a striped file, the rows that
   * remain). Fewer is fine: the top `rows` rows are decoded (the predictors work row by row).
   */
  readonly rows: number;
  readonly littleEndian: boolean;
}

export { BlockDecodeError, CorruptBlockError, TruncatedBlockError, UnsupportedBlockError } from './block-errors.js';

const DEFLATE = new Set([8, 32946]);
const UNCOMPRESSED = 1;
const LITTLE_ENDIAN_HOST = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
/** node:zlib, for a caller that names no inflater (it holds no state). */
const ZLIB_INFLATER = new ZlibInflater();

/**
 * geotiff decoders for the compressions decoded in JavaScript, one per compression and block geometry.
 * Create one per call site (e.g. per source window) and pass it to each decodeBlock of that call.
 */
export class FallbackDecoders {
  readonly #decoders = new Map<string, Promise<BaseDecoder>>();

  get(format: BlockFormat): Promise<BaseDecoder> {
    const { compression, width, rows, bitsPerSample, samplesPerPixel } = format;
    const key = `${compression}/${width}/${rows}/${bitsPerSample}/${samplesPerPixel}`;
    let decoder = this.#decoders.get(key);
    if (!decoder) {
      // geotiff is loaded only for such a block: importing it cost every worker ~42 ms of start-up
      // (2026-12-02), and Sentinel-2's DEFLATE never needs it.
      decoder = import('geotiff').then(({ getDecoder }) => getDecoder(compression, {
        tileWidth: width,
        tileHeight: rows,
        predictor: 1, // decompression only: the predictor is undone by decodeBlock
        bitsPerSample: Array.from({ length: samplesPerPixel }, () => bitsPerSample),
        planarConfiguration: 1,
        samplesPerPixel,
      }));
      this.#decoders.set(key, decoder);
    }
    return decoder;
  }
}

/** What decodeBlock leaves to its caller. */
export interface DecodeOptions {
  /**
   * Leave predictor 2 (horizontal differencing) in the values: the caller undoes it while it copies
   * the rows it needs (window-copy.ts), one pass over them instead of two, and none over the rest.
   */
  readonly keepHorizontalDifferences?: boolean;
  /** What inflates DEFLATE blocks (block-inflater.ts); absent: node:zlib. */
  readonly inflater?: BlockInflater;
  /**
   * Memory a DEFLATE block may be inflated into (BlockInflater's `into`): the caller's until it is
   * done with the result, which is then a view of it. Reusing it spares a worker a fresh, zeroed
   * block-sized buffer per block (0.3 s of CPU over a Sentinel-2 scene's 399 blocks).
   */
  readonly into?: Uint8Array<ArrayBuffer>;
}

/**
 * Decodes one stored block to width × rows × samplesPerPixel values in the host's (little-endian)
 * byte order: exactly those bytes, from offset 0 of memory nobody else holds (its buffer may be a
 * little longer). Data that decompresses to more bytes than that is fine (TIFF allows padding): the
 * prefix is returned. Rejects with a BlockDecodeError.
 */
export async function decodeBlock(data: Uint8Array, format: BlockFormat, decoders: FallbackDecoders = new FallbackDecoders(), options: DecodeOptions = {}): Promise<Uint8Array<ArrayBuffer>> {
  const what = describe(format);
  checkFormat(format, what);
  const bytesPerSample = format.bitsPerSample / 8;
  const expected = format.width * format.rows * format.samplesPerPixel * bytesPerSample;

  let bytes: Uint8Array<ArrayBuffer>;
  if (DEFLATE.has(format.compression)) {
    const inflated = await (options.inflater ?? ZLIB_INFLATER).inflate(data, expected, what, options.into);
    bytes = options.into && inflated.buffer === options.into.buffer ? inPlace(inflated, expected, what) : ownedPrefix(inflated, expected, what, false);
  }
  else if (format.compression === UNCOMPRESSED) bytes = ownedPrefix(data, expected, what, true);
  else bytes = await fallbackDecode(data, format, expected, what, decoders);

  const { buffer } = bytes; // from offset 0 (ownedPrefix): the predictors read it from there
  if (format.littleEndian !== LITTLE_ENDIAN_HOST && format.predictor !== 3) swapBytes(bytes, bytesPerSample);
  if (format.predictor === 2 && !options.keepHorizontalDifferences) {
    undoHorizontalPredictor(buffer, bytesPerSample as 1 | 2 | 4, format.width, format.rows, format.samplesPerPixel);
  } else if (format.predictor === 3) {
    undoFloatingPointPredictor(buffer, bytesPerSample as 4 | 8, format.width, format.rows, format.samplesPerPixel);
  }
  return bytes;
}

function describe(format: BlockFormat): string {
  const kind = format.sampleFormat === 3 ? 'float' : format.sampleFormat === 2 ? 'int' : 'uint';
  const samples = format.samplesPerPixel === 1 ? '1 sample' : `${format.samplesPerPixel} samples`;
  return `block ${format.width}×${format.rows} (${samples} of ${kind}${format.bitsPerSample}, compression ${format.compression}, predictor ${format.predictor})`;
}

function checkFormat(format: BlockFormat, what: string): void {
  const { width, rows, samplesPerPixel, bitsPerSample, sampleFormat, predictor } = format;
  for (const [name, value] of [['width', width], ['rows', rows], ['samplesPerPixel', samplesPerPixel]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new UnsupportedBlockError(`${what}: ${name} must be a positive integer`);
  }
  if (![8, 16, 32, 64].includes(bitsPerSample)) throw new UnsupportedBlockError(`${what}: ${bitsPerSample} bits per sample (expected 8, 16, 32 or 64)`);
  if (sampleFormat === 3 && bitsPerSample < 32) throw new UnsupportedBlockError(`${what}: floating-point samples must have 32 or 64 bits`);
  if (predictor === 2 && bitsPerSample === 64) throw new UnsupportedBlockError(`${what}: predictor 2 supports 8, 16 and 32-bit samples`);
  if (predictor === 3 && sampleFormat !== 3) throw new UnsupportedBlockError(`${what}: predictor 3 is for floating-point samples`);
  if (predictor !== 1 && predictor !== 2 && predictor !== 3) throw new UnsupportedBlockError(`${what}: unknown predictor ${predictor}`);
}

async function fallbackDecode(data: Uint8Array, format: BlockFormat, expected: number, what: string, decoders: FallbackDecoders): Promise<Uint8Array<ArrayBuffer>> {
  let decoder: BaseDecoder;
  try {
    decoder = await decoders.get(format);
  } catch (error) {
    throw new UnsupportedBlockError(`${what}: compression ${format.compression} is not supported`, { cause: error });
  }
  let decoded: ArrayBufferLike;
  try {
    // A copy (not data.slice(): on a Buffer that is a view): geotiff decoders take a whole ArrayBuffer,
    // and must not see (or hand back) the caller's bytes.
    decoded = await decoder.decode(new Uint8Array(data).buffer);
  } catch (error) {
    throw new CorruptBlockError(`${what}: cannot decompress: ${(error as Error).message}`, { cause: error });
  }
  return ownedPrefix(new Uint8Array(decoded), expected, what, false);
}

/**
 * The first `expected` bytes, from offset 0 of memory nobody else holds: a view of `bytes`' own
 * buffer when `bytes` starts it, is at most INFLATE_SLACK shorter, and is not from Buffer's shared
 * pool (pooled buffers are at most Buffer.poolSize long; copy false), else a copy.
 */
function ownedPrefix(bytes: Uint8Array, expected: number, what: string, copy: boolean): Uint8Array<ArrayBuffer> {
  if (bytes.byteLength < expected) throw new TruncatedBlockError(expected, bytes.byteLength, what);
  const backing = bytes.buffer;
  const own = backing instanceof ArrayBuffer && bytes.byteOffset === 0 && backing.byteLength > Buffer.poolSize;
  if (!copy && own && backing.byteLength - expected <= INFLATE_SLACK) return new Uint8Array(backing, 0, expected);
  return new Uint8Array(bytes.subarray(0, expected));
}

/** The first `expected` bytes of what was inflated into the caller's memory (from its offset 0). */
function inPlace(bytes: Uint8Array<ArrayBuffer>, expected: number, what: string): Uint8Array<ArrayBuffer> {
  if (bytes.byteLength < expected) throw new TruncatedBlockError(expected, bytes.byteLength, what);
  return new Uint8Array(bytes.buffer, 0, expected);
}

function swapBytes(bytes: Uint8Array, bytesPerSample: number): void {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytesPerSample === 2) view.swap16();
  else if (bytesPerSample === 4) view.swap32();
  else if (bytesPerSample === 8) view.swap64();
}
