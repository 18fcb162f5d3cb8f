/**
 * What both sides of a stitchable strip PNG agree on: the part of a strip the master keeps, the
 * error for a strip it cannot stitch, and the size limits either side checks.
 */
import { TesseraError } from '../errors.js';

/** PNG colour type 0: the strips are 8-bit greyscale. */
export const GREY = 0;

/** What the master keeps of a strip: its compressed rows and what it needs to combine the checksum. */
export interface StripData {
  /** Raw DEFLATE bytes ending in 00 00 FF FF: no zlib header, no final block, no Adler-32. */
  readonly deflate: Buffer;
  /** Adler-32 of the strip's filtered bytes. */
  readonly adler32: number;
  /** Length of the filtered bytes: rows × (width + 1). */
  readonly filteredLength: number;
  /**
   * The strip's IDAT chunk holding exactly `deflate`, as stored (length, type, data, CRC), when the
   * strip has one (encodeStripPng writes the zlib header, the rows and the stream's end as three IDAT
   * chunks): the stitcher copies it as it is instead of computing a CRC of its own.
   */
  readonly chunk?: Buffer;
}

/** A PNG a worker returned cannot be stitched; the message says what is wrong with it. */
export class InvalidStripError extends TesseraError {}

export function assertSize(what: string, width: number, rows: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(rows) || width < 1 || rows < 1) {
    throw new RangeError(`${what}: strip size ${width}×${rows} must be positive integers`);
  }
}
