/**
 * Worker side of a tile's source data: takes the chunks ReadSources streams, checks that they come
 * in the order the task lists the parts and that every CRC-32 and size matches, decodes each
 * stored block as soon as it is complete (on libuv's thread pool, a few at a time, so
 * receiving and decoding overlap), and builds one row-major typed array per sample the task's bands
 * read from each window. Sparse blocks read as 0 (the arrays start zeroed).
 */
import PQueue from 'p-queue';
import { BufferPool } from '../shared/buffer-pool.js';
import { verifyCrc32 } from '../shared/checksum.js';
import { TesseraError } from '../shared/errors.js';
import type { BlockRef__Output, EncodedLayout__Output, SourceChunk__Output, SourceWindow__Output, TileTask__Output } from '../shared/proto/tile-service.js';
import { FallbackDecoders, decodeBlock } from '../shared/raster/block-decoder.js';
import { INFLATE_SLACK, type BlockInflater } from '../shared/raster/block-inflater.js';
import { HorizontalSums } from '../shared/raster/horizontal-sums.js';
import { SAMPLE_BYTES, SAMPLE_TYPES, type SampleArray, type SampleType } from '../shared/types.js';
import type { ScratchArrays } from './scratch-arrays.js';
import { canSumWhileCopying, checkBlocksCover, copyBlockIntoWindow, typedArrayOf } from './window-copy.js';

/** The source data does not fit the task: missing, out of order, or inconsistent parts. */
export class SourceDataError extends TesseraError {}

/** Blocks decoded at once (libuv's thread pool has 4 threads by default). */
const DECODE_CONCURRENCY = 4;

interface ExpectedPart {
  readonly source: number;
  readonly part: number;
  readonly bytes: number;
}

/**
 * A chunk as the assembler takes it: `release`, when its maker gives one, hands the chunk's memory
 * back once the part it belongs to is decoded (DirectFiles reuses its read buffers so).
 */
export type SourceChunkIn = SourceChunk__Output & { readonly release?: () => void };

/** One window and the arrays its parts fill. */
interface WindowTarget {
  readonly window: SourceWindow__Output;
  readonly sampleType: SampleType;
  readonly arrays: Map<number, SampleArray>;
}

export class SourceAssembler {
  readonly #targets: WindowTarget[];
  readonly #expected: ExpectedPart[];
  readonly #decodes = new PQueue({ concurrency: DECODE_CONCURRENCY });
  /** geotiff decoders for compressions node:zlib does not do (LZW, ZSTD, …), made once per tile. */
  readonly #fallback = new FallbackDecoders();
  readonly #inflater: BlockInflater | undefined;
  /** Undoes predictor 2 on 16-bit blocks as they are copied (decodes finish one at a time on this thread). */
  readonly #sums = new HorizontalSums();
  /** What DEFLATE blocks inflate into, one per decode at a time, each reused once its block is in the window. */
  readonly #inflated = new BufferPool({ keep: DECODE_CONCURRENCY, minimumSize: 0 });
  #next = 0;
  #pieces: Buffer[] = [];
  #pieceBytes = 0;
  #releases: (() => void)[] = [];
  /** The failed decode of the earliest part (decodes run a few at a time and may fail out of order). */
  #failure: { readonly at: number; readonly error: unknown } | undefined;

  /**
   * @param scratch where the window arrays come from (reused across strips); absent: new arrays
   * @param inflater what inflates DEFLATE blocks; absent: node:zlib
   */
  constructor(task: TileTask__Output, scratch?: ScratchArrays, inflater?: BlockInflater) {
    this.#inflater = inflater;
    this.#targets = task.sources.map((window, at) => target(task, window, at, scratch));
    this.#expected = this.#targets.flatMap((t, source) => expectedParts(t, source));
  }

  /** Bytes of source data the task says will come. */
  get expectedBytes(): number {
    return this.#expected.reduce((sum, part) => sum + part.bytes, 0);
  }

  /** Takes the next chunk; resolves when there is room for more (decoding keeps up). */
  async accept(chunk: SourceChunkIn): Promise<void> {
    if (this.#failure) throw this.#failure.error;
    const part = this.#expected[this.#next];
    const where = `source ${chunk.source} part ${chunk.part}`;
    if (!part) throw new SourceDataError(`${where}: more source data than the task lists`);
    if (chunk.source !== part.source || chunk.part !== part.part) {
      throw new SourceDataError(`${where} arrived where source ${part.source} part ${part.part} was expected`);
    }
    if (!chunk.zlibChecked) verifyCrc32(where, chunk.data, chunk.checksum);
    else if (!isZlibPart(this.#targets[part.source]!)) throw new SourceDataError(`${where}: sent without a CRC, but it is not a zlib stream that checks itself`);
    this.#pieces.push(chunk.data);
    if (chunk.release) this.#releases.push(chunk.release);
    this.#pieceBytes += chunk.data.length;
    if (this.#pieceBytes > part.bytes) throw new SourceDataError(`${where}: more than the ${part.bytes} bytes listed`);
    if (!chunk.last) return;
    if (this.#pieceBytes !== part.bytes) throw new SourceDataError(`${where}: ${this.#pieceBytes} bytes, ${part.bytes} listed`);
    const data = this.#pieces.length === 1 ? this.#pieces[0]! : Buffer.concat(this.#pieces, this.#pieceBytes);
    const releases = this.#releases;
    this.#pieces = [];
    this.#pieceBytes = 0;
    this.#releases = [];
    const at = this.#next;
    this.#next += 1;
    const place = async (): Promise<void> => {
      try {
        await this.#place(part, data);
      } finally {
        for (const release of releases) release();
      }
    };
    this.#decodes.add(place).catch((error: unknown) => {
      if (!this.#failure || at < this.#failure.at) this.#failure = { at, error };
    });
    await this.#decodes.onSizeLessThan(DECODE_CONCURRENCY);
  }

  /** Resolves once no decode is running any more (so the arrays may be reused), whatever happened. */
  async settle(): Promise<void> {
    this.#decodes.clear();
    await this.#decodes.onIdle();
  }

  /** Every window's arrays, once every part has arrived and been decoded. */
  async finish(): Promise<Map<number, SampleArray>[]> {
    await this.#decodes.onIdle();
    if (this.#failure) throw this.#failure.error;
    const missing = this.#expected[this.#next];
    if (missing) {
      throw new SourceDataError(
        `the source data ended early: source ${missing.source} part ${missing.part} and ${this.#expected.length - this.#next - 1} more never arrived`,
      );
    }
    return this.#targets.map((t) => t.arrays);
  }

  async #place(part: ExpectedPart, data: Buffer): Promise<void> {
    const target = this.#targets[part.source]!;
    const { window } = target;
    if (window.decoded) {
      const sample = window.decoded.samples[part.part]!;
      const out = target.arrays.get(sample);
      if (out) new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(data);
      return;
    }
    const layout = window.encoded!;
    const block = layout.blocks[part.part]!;
    const horizontalDifferences = canSumWhileCopying(layout, target.sampleType);
    const taken = isZlibPart(target) ? this.#inflated.take(storedBlockBytes(layout) + INFLATE_SLACK) : undefined;
    // Only a buffer that is the whole of its memory: a small one may be a slice of Node's shared pool.
    const into = taken && taken.buffer instanceof ArrayBuffer && taken.byteOffset === 0 && taken.buffer.byteLength === taken.length ? new Uint8Array(taken.buffer) : undefined;
    try {
      const decoded = await decodeStoredBlock(data, layout, block, part, { fallback: this.#fallback, inflater: this.#inflater, into }, horizontalDifferences);
      copyBlockIntoWindow({ window, layout, block, values: typedArrayOf(target.sampleType, decoded), arrays: target.arrays, horizontalDifferences, sums: this.#sums });
    } finally {
      if (taken) this.#inflated.give(taken);
    }
  }
}

/** Whether the window's parts are zlib streams (TIFF compression 8 or 32946): inflate checks their Adler-32. */
function isZlibPart(target: WindowTarget): boolean {
  const compression = target.window.encoded?.compression;
  return compression === 8 || compression === 32946;
}

interface Decoders {
  readonly fallback: FallbackDecoders;
  readonly inflater: BlockInflater | undefined;
  readonly into: Uint8Array<ArrayBuffer> | undefined;
}

/** Bytes a full stored block of `layout` decodes to (a striped file's last strip may be shorter). */
function storedBlockBytes(layout: EncodedLayout__Output): number {
  const perPixel = layout.planarConfiguration === 1 ? layout.samplesPerPixel : 1;
  return layout.blockWidth * layout.blockHeight * perPixel * ((layout.bitsPerSample[0] ?? 0) / 8);
}

function decodeStoredBlock(data: Buffer, layout: EncodedLayout__Output, block: BlockRef__Output, part: ExpectedPart, decoders: Decoders, keepHorizontalDifferences: boolean): Promise<Uint8Array<ArrayBuffer>> {
  const chunky = layout.planarConfiguration === 1;
  const rows = layout.tiled ? layout.blockHeight : Math.min(layout.blockHeight, layout.imageHeight - block.row * layout.blockHeight);
  return decodeBlock(data, {
    compression: layout.compression,
    predictor: layout.predictor || 1,
    bitsPerSample: layout.bitsPerSample[0] ?? 0,
    sampleFormat: layout.sampleFormat === 2 || layout.sampleFormat === 3 ? layout.sampleFormat : 1,
    samplesPerPixel: chunky ? layout.samplesPerPixel : 1,
    width: layout.blockWidth,
    rows,
    littleEndian: layout.littleEndian,
  }, decoders.fallback, { keepHorizontalDifferences, ...(decoders.inflater ? { inflater: decoders.inflater } : {}), ...(decoders.into ? { into: decoders.into } : {}) }).catch((error: unknown) => {
    throw new SourceDataError(`source ${part.source}: cannot decode block (${block.column}, ${block.row}) sample ${block.sample}`, { cause: error });
  });
}

function target(task: TileTask__Output, window: SourceWindow__Output, at: number, scratch: ScratchArrays | undefined): WindowTarget {
  const where = `source ${at}`;
  if (!(SAMPLE_TYPES as readonly string[]).includes(window.sampleType)) {
    throw new SourceDataError(`${where}: unknown sample type "${window.sampleType}" (expected one of ${SAMPLE_TYPES.join(', ')})`);
  }
  const sampleType = window.sampleType as SampleType;
  const available = window.decoded ? window.decoded.samples : window.encoded ? samplesOf(window.encoded) : undefined;
  if (!available) throw new SourceDataError(`${where}: the task says neither how it is decoded nor encoded`);
  const arrays = new Map<number, SampleArray>();
  for (const band of task.bands) {
    if (band.source !== at || arrays.has(band.sample)) continue;
    if (!available.includes(band.sample)) throw new SourceDataError(`${where}: band ${band.name} reads sample ${band.sample}, which it does not hold`);
    const length = window.width * window.height;
    arrays.set(band.sample, scratch ? scratch.take(sampleType, length, !coversEveryPixel(window)) : typedArrayOf(sampleType, length));
  }
  if (window.encoded) checkBlocksCover(window, window.encoded, arrays.keys(), where);
  return { window, sampleType, arrays };
}

/**
 * Whether the window's parts write every value of its arrays: decoded data always does, stored blocks
 * do unless one is sparse (nothing stored, so its pixels stay 0). checkBlocksCover makes sure every
 * block the window overlaps is listed.
 */
function coversEveryPixel(window: SourceWindow__Output): boolean {
  if (window.decoded) return true;
  return window.encoded !== null && window.encoded !== undefined && window.encoded.blocks.every((block) => block.byteCount > 0);
}

function samplesOf(layout: EncodedLayout__Output): number[] {
  if (layout.planarConfiguration === 1) return Array.from({ length: layout.samplesPerPixel }, (_, i) => i);
  return [...new Set(layout.blocks.map((b) => b.sample))];
}

function expectedParts(target: WindowTarget, source: number): ExpectedPart[] {
  const { window } = target;
  if (window.width * window.height === 0) return [];
  if (window.decoded) {
    const bytes = window.width * window.height * SAMPLE_BYTES[target.sampleType];
    return window.decoded.samples.map((_, part) => ({ source, part, bytes }));
  }
  return (window.encoded?.blocks ?? []).flatMap((block, part) => (block.byteCount > 0 ? [{ source, part, bytes: block.byteCount }] : []));
}
