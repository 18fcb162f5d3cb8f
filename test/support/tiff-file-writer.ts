/**
 * Writes a single-image GeoTIFF to disk block by block, so a file far larger than memory can be
 * built: the header and IFD go first (as in a cloud-optimized GeoTIFF), their space reserved up
 * front and filled in on close, once every block's offset and size is known. Same format options,
 * entries and block encoding as the in-memory writer (tiff-layout.ts).
 */
import { open, rm, type FileHandle } from 'node:fs/promises';
import { even, writeHeader, writeIfd } from './tiff-entries.js';
import { blockRows, encodeBlock, firstBlockOffset, geoTiffEntries, planGeoTiff, type GeoTiffFormat, type GeoTiffLayout } from './tiff-layout.js';

export class GeoTiffFileWriter {
  readonly layout: GeoTiffLayout;
  readonly #path: string;
  readonly #file: FileHandle;
  readonly #offsets: number[] = [];
  readonly #byteCounts: number[] = [];
  #cursor: number;

  private constructor(path: string, file: FileHandle, layout: GeoTiffLayout) {
    this.#path = path;
    this.#file = file;
    this.layout = layout;
    this.#cursor = firstBlockOffset(layout);
  }

  /** Creates (or truncates) `path` for an image of `format` with `samplesPerPixel` samples. */
  static async create(path: string, format: GeoTiffFormat, samplesPerPixel = 1): Promise<GeoTiffFileWriter> {
    const layout = planGeoTiff(format, samplesPerPixel);
    return new GeoTiffFileWriter(path, await open(path, 'w'), layout);
  }

  /** Blocks written so far; the next block written is the one with this index (plane, row, column order). */
  get written(): number {
    return this.#offsets.length;
  }

  /** Encodes (predictor, DEFLATE; `raw` is clobbered) and appends the next block. */
  async writeRawBlock(raw: Uint8Array): Promise<void> {
    const row = Math.floor(this.written / this.layout.across) % this.layout.down;
    await this.writeEncodedBlock(encodeBlock(this.layout, raw, blockRows(this.layout, row)));
  }

  /** Appends the next block, already encoded (e.g. by encodeBlock on another thread); empty = sparse. */
  async writeEncodedBlock(block: Uint8Array): Promise<void> {
    if (this.written >= this.layout.blockCount) throw new Error(`writeGeoTiff: ${this.#path} already has all ${this.layout.blockCount} blocks`);
    if (block.length === 0) {
      this.#offsets.push(0);
      this.#byteCounts.push(0);
      return;
    }
    if (this.#cursor + block.length > 2 ** 32) throw new Error(`writeGeoTiff: ${this.#path} would pass 4 GiB (classic TIFF)`);
    await this.#file.write(block, 0, block.length, this.#cursor);
    this.#offsets.push(this.#cursor);
    this.#byteCounts.push(block.length);
    this.#cursor += even(block.length);
  }

  /** Writes the header and IFD, then closes the file. Every block must have been written. Returns the file size. */
  async close(): Promise<number> {
    if (this.written !== this.layout.blockCount) {
      throw new Error(`writeGeoTiff: ${this.#path} has ${this.written} of ${this.layout.blockCount} blocks`);
    }
    const head = Buffer.alloc(firstBlockOffset(this.layout));
    writeHeader(head, 8);
    writeIfd(head, 8, geoTiffEntries(this.layout, this.#offsets, this.#byteCounts), 0);
    await this.#file.write(head, 0, head.length, 0);
    // An odd-sized last block: pad the file to its word-aligned end, as the in-memory writer does.
    await this.#file.truncate(this.#cursor);
    await this.#file.close();
    return this.#cursor;
  }

  /** Closes and deletes the partial file. */
  async abort(): Promise<void> {
    await this.#file.close().catch(() => undefined);
    await rm(this.#path, { force: true });
  }
}
