/** Why a stored block of a TIFF cannot be decoded: one class per cause, for block-decoder.ts and its inflaters. */
import { TesseraError } from '../errors.js';

/** A block that cannot be decoded. */
export class BlockDecodeError extends TesseraError {}

/** The block's format is not one this decoder handles (compression, bit depth, predictor). */
export class UnsupportedBlockError extends BlockDecodeError {}

/** The block's data is not a valid stream for its compression. */
export class CorruptBlockError extends BlockDecodeError {}

/** The block decompressed to fewer bytes than its format needs. */
export class TruncatedBlockError extends CorruptBlockError {
  constructor(
    readonly expectedBytes: number,
    readonly actualBytes: number,
    what: string,
  ) {
    super(`${what} decompressed to ${actualBytes} bytes, expected ${expectedBytes}`);
  }
}
