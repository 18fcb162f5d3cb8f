/**
 * Writes one PNG file from stitchable strips (shared/png/strip-png.ts) without touching a pixel:
 * signature, IHDR for the whole image, PLTE + tRNS when it is indexed, then IDAT chunks holding, in
 * order, the 2-byte zlib header, each strip's raw DEFLATE bytes as they are (in the worker's own IDAT
 * chunk when the strip has one, so not even a CRC is computed here), and the empty final block with
 * the Adler-32 combined from the strips' checksums; then IEND. No zlib call.
 */
import { TesseraError } from '../../shared/errors.js';
import { adler32, adler32Combine } from '../../shared/png/adler32.js';
import { chunkParts, encodeChunk, encodeIhdr, MAX_CHUNK_LENGTH, PNG_SIGNATURE } from '../../shared/png/png-chunks.js';
import type { StripData } from '../../shared/png/strip-png.js';
import { zlibHeader, zlibTrailer } from '../../shared/png/zlib-framing.js';
import { UnbufferedFile } from './unbuffered-file.js';

export interface StitchedPngLayout {
  readonly width: number;
  readonly height: number;
  /**
   * 256 RGBA entries (1024 bytes): the file is indexed (colour type 3) with this palette, else grey
   * (colour type 0). Both read the same IDAT bytes, 8-bit codes.
   */
  readonly palette?: Uint8Array;
  /** Largest IDAT data per chunk (default and maximum: the format's 2^31 − 1); a strip may span several. */
  readonly maxIdatLength?: number;
}

/**
 * The zlib header of the stitched stream: a 32 KiB window (the largest DEFLATE has, so right for any
 * strip) and FLEVEL "fastest" (informational only; workers compress at level 1).
 */
const STITCHED_ZLIB_HEADER = zlibHeader(1);

/**
 * Where a stitched file stands after some strips: enough to carry on writing it from there (a
 * resumed run truncates the file to `bytes` and continues, see resume-checkpoint.ts).
 */
export interface StitcherState {
  /** Bytes of the file written so far. */
  readonly bytes: number;
  /** Adler-32 of the filtered rows so far. */
  readonly adler: number;
  readonly filteredBytes: number;
}

/** One stitched PNG file being written. Calls must not overlap: await each before the next. */
export class PngStitcher {
  private adler: number;
  private filteredBytes: number;
  private position: number;
  private busy = false;
  private closed = false;

  private constructor(
    private readonly path: string,
    private readonly file: UnbufferedFile,
    private readonly expectedFilteredBytes: number,
    private readonly maxIdatLength: number,
    from: StitcherState,
  ) {
    this.adler = from.adler;
    this.filteredBytes = from.filteredBytes;
    this.position = from.bytes;
  }

  /** Create (or truncate) `path` and write everything before the strips. */
  static async create(path: string, layout: StitchedPngLayout): Promise<PngStitcher> {
    const maxIdatLength = checkedIdatLength(layout);
    const head = [
      PNG_SIGNATURE,
      encodeChunk('IHDR', encodeIhdr({ ...layout, bitDepth: 8, colourType: layout.palette ? 3 : 0, interlace: 0 })),
      ...(layout.palette ? paletteChunks(layout.palette) : []),
      encodeChunk('IDAT', STITCHED_ZLIB_HEADER),
    ];
    const file = await UnbufferedFile.open(path, 'w+'); // read too: a rewind reads strips back (readRange)
    try {
      await file.append(head);
    } catch (error) {
      await file.close().catch(() => undefined);
      throw error;
    }
    const start = { bytes: head.reduce((sum, part) => sum + part.length, 0), adler: adler32(new Uint8Array(0)), filteredBytes: 0 };
    return new PngStitcher(path, file, filteredBytesOf(layout), maxIdatLength, start);
  }

  /**
   * Carry on writing `path`, made by create() and appended to up to `state` (a checkpoint): the
   * file is cut back to `state.bytes` (later bytes were never checkpointed) and strips continue
   * from there. Refuses a file shorter than that.
   */
  static async resume(path: string, layout: StitchedPngLayout, state: StitcherState): Promise<PngStitcher> {
    const maxIdatLength = checkedIdatLength(layout);
    const file = await UnbufferedFile.open(path, 'r+');
    try {
      const size = file.length;
      if (size < state.bytes) throw new TesseraError(`${path}: ${size} bytes, shorter than the ${state.bytes} its checkpoint records`);
      if (state.filteredBytes > filteredBytesOf(layout)) throw new TesseraError(`${path}: checkpoint has more rows than the image`);
      await file.truncate(state.bytes);
    } catch (error) {
      await file.close().catch(() => undefined);
      throw error;
    }
    return new PngStitcher(path, file, filteredBytesOf(layout), maxIdatLength, state);
  }

  /** Where the file stands now (after the last completed append). */
  state(): StitcherState {
    return { bytes: this.position, adler: this.adler, filteredBytes: this.filteredBytes };
  }

  /** Flushes what is written to the disk (before a checkpoint names it). */
  async sync(): Promise<void> {
    if (!this.closed) await this.file.sync();
  }

  /** Append the next strip (top to bottom); refuses one that would overrun the image's rows. */
  async append(strip: StripData): Promise<void> {
    if (this.filteredBytes + strip.filteredLength > this.expectedFilteredBytes) {
      throw new TesseraError(
        `${this.path}: a strip of ${strip.filteredLength} filtered bytes overruns the image ` +
          `(${this.filteredBytes} of ${this.expectedFilteredBytes} written)`,
      );
    }
    await this.run(async () => {
      if (strip.chunk && strip.deflate.length <= this.maxIdatLength) {
        await this.file.append([strip.chunk]); // the worker's own IDAT chunk, CRC and all
        this.position += strip.chunk.length;
      } else {
        for (let start = 0; start < strip.deflate.length; start += this.maxIdatLength) {
          const parts = chunkParts('IDAT', strip.deflate.subarray(start, start + this.maxIdatLength));
          await this.file.append(parts);
          for (const part of parts) this.position += part.length;
        }
      }
      this.adler = adler32Combine(this.adler, strip.adler32, strip.filteredLength);
      this.filteredBytes += strip.filteredLength;
    });
  }

  /** Bytes `start`..`end` of the file as written (a strip's IDAT chunks, to write them again after a rewind). */
  async readRange(start: number, end: number): Promise<Buffer> {
    if (start < 0 || end < start || end > this.position) throw new RangeError(`${this.path}: no bytes ${start}..${end} written`);
    const bytes = Buffer.alloc(end - start);
    await this.file.read(bytes, start);
    return bytes;
  }

  /** Cut the file back to where it stood at `state` (an earlier state() of this file) and carry on from there. */
  async rewind(state: StitcherState): Promise<void> {
    if (state.bytes > this.position) throw new RangeError(`${this.path}: cannot rewind forward, to ${state.bytes} of ${this.position} bytes`);
    await this.run(async () => {
      await this.file.truncate(state.bytes);
      this.position = state.bytes;
      this.adler = state.adler;
      this.filteredBytes = state.filteredBytes;
    });
  }

  /** Write the stream's end and IEND and close the file; refuses when strips are missing. */
  async finish(): Promise<void> {
    if (this.filteredBytes !== this.expectedFilteredBytes) {
      throw new TesseraError(
        `${this.path}: strips cover ${this.filteredBytes} of the image's ${this.expectedFilteredBytes} filtered bytes`,
      );
    }
    const end = [encodeChunk('IDAT', zlibTrailer(this.adler)), encodeChunk('IEND', Buffer.alloc(0))];
    await this.run(async () => {
      await this.file.append(end);
      for (const part of end) this.position += part.length;
    });
    await this.close();
  }

  /** Close the file as it is (for abort; the caller removes it). Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.file.close();
  }

  private async run(write: () => Promise<void>): Promise<void> {
    if (this.closed) throw new TesseraError(`${this.path}: the stitched PNG is already closed`);
    if (this.busy) throw new TesseraError(`${this.path}: overlapping writes to a stitched PNG`);
    this.busy = true;
    try {
      await write();
    } finally {
      this.busy = false;
    }
  }
}

/**
 * PLTE (the RGB of each entry) and tRNS (alphas up to the last entry that is not opaque; later ones
 * default to opaque, so a ramp with only code 0 transparent needs a single byte).
 */
export function paletteChunks(rgba: Uint8Array): Buffer[] {
  if (rgba.length !== 256 * 4) throw new RangeError(`palette has ${rgba.length} bytes, expected 1024 (256 RGBA)`);
  const rgb = Buffer.alloc(256 * 3);
  const alpha = Buffer.alloc(256);
  let alphaLength = 0;
  for (let i = 0; i < 256; i++) {
    rgb[i * 3] = rgba[i * 4]!;
    rgb[i * 3 + 1] = rgba[i * 4 + 1]!;
    rgb[i * 3 + 2] = rgba[i * 4 + 2]!;
    alpha[i] = rgba[i * 4 + 3]!;
    if (alpha[i] !== 255) alphaLength = i + 1;
  }
  const chunks = [encodeChunk('PLTE', rgb)];
  if (alphaLength > 0) chunks.push(encodeChunk('tRNS', alpha.subarray(0, alphaLength)));
  return chunks;
}

function checkedIdatLength(layout: StitchedPngLayout): number {
  const maxIdatLength = layout.maxIdatLength ?? MAX_CHUNK_LENGTH;
  if (!Number.isInteger(maxIdatLength) || maxIdatLength < 1 || maxIdatLength > MAX_CHUNK_LENGTH) {
    throw new RangeError(`PNG stitcher: IDAT length limit ${maxIdatLength} must be in 1..2^31-1`);
  }
  return maxIdatLength;
}

function filteredBytesOf(layout: StitchedPngLayout): number {
  return layout.height * (layout.width + 1);
}
