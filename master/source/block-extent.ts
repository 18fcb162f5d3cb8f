/**
 * Whether a local GeoTIFF holds every block its directory points at: a file cut short (an
 * interrupted copy or download) is refused when its band is opened, naming the file, instead of
 * failing on the workers, block by block, after every attempt.
 */
import { stat } from 'node:fs/promises';
import type { GeoTIFFImage } from 'geotiff';
import { SourceReadError } from '../../shared/errors.js';

/** Where the block that reaches farthest into the file ends, and which block that is. */
export interface BlockExtent {
  /** One past the last byte any block of the image occupies (0 when every block is sparse). */
  readonly end: number;
  /** The block reaching `end`: its index in the offsets array, and the array's length. */
  readonly block: number;
  readonly blocks: number;
}

/** The farthest end of the image's blocks (offset + byte count), from its offsets and byte counts. */
export async function blockExtent(image: GeoTIFFImage): Promise<BlockExtent> {
  const directory = image.getFileDirectory();
  const [offsetsTag, countsTag] = image.isTiled ? (['TileOffsets', 'TileByteCounts'] as const) : (['StripOffsets', 'StripByteCounts'] as const);
  const offsets = numbers(await directory.loadValue(offsetsTag));
  const counts = numbers(await directory.loadValue(countsTag));
  let end = 0;
  let block = -1;
  for (let i = 0; i < offsets.length; i++) {
    const count = counts[i] ?? 0;
    if (count === 0) continue; // sparse: no bytes stored
    const reach = (offsets[i] ?? 0) + count;
    if (reach > end) {
      end = reach;
      block = i;
    }
  }
  return { end, block, blocks: offsets.length };
}

/**
 * Throws TruncatedFileError when the file at `path` is shorter than the blocks of `image` (its
 * image 0) say. The message speaks of "the file": the caller names it.
 */
export async function checkBlocksInFile(image: GeoTIFFImage, path: string): Promise<void> {
  const [{ size }, extent] = await Promise.all([stat(path), blockExtent(image)]);
  if (extent.end <= size) return;
  const kind = image.isTiled ? 'tile' : 'strip';
  throw new TruncatedFileError(
    `the file is truncated: it is ${size} bytes long, but its ${kind} ${extent.block + 1} of ${extent.blocks} ends at byte ${extent.end} ` +
      `(${extent.end - size} bytes missing); the copy or download was probably cut short: copy the file again`,
  );
}

/** The file is shorter than its own directory says. */
export class TruncatedFileError extends SourceReadError {}

function numbers(value: unknown): number[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'number' || typeof value === 'bigint') return [Number(value)];
  if (Array.isArray(value) || ArrayBuffer.isView(value)) return Array.from(value as ArrayLike<number | bigint>, Number);
  return [];
}
