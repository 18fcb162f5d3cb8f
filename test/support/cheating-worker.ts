/**
 * A cheating worker's tile computation for tests: the real worker's processing (processTile), with
 * one pixel of the first index flipped in one tile of `every` it computes (its 1st, then every
 * `every`-th), re-encoded as a stitchable strip; its statistics left as computed, as a careless or
 * malicious worker would. `every: 1` flips one in every tile.
 */
import { encodeStripPng } from '../../shared/png/strip-png.js';
import type { TileTask__Output } from '../../shared/proto/tile-service.js';
import type { ScratchArrays } from '../../worker/scratch-arrays.js';
import { processTile, type ProcessedTile, type SourceStream } from '../../worker/tile-processor.js';
import { decodeGrey } from './png-tools.js';

export type TileProcess = (task: TileTask__Output, sources: SourceStream, scratch: ScratchArrays) => Promise<ProcessedTile>;

export interface CheatingProcess {
  readonly process: TileProcess;
  /** Tiles computed, and how many of them were altered. */
  readonly counts: { computed: number; flipped: number };
}

export function cheatingProcess(every: number): CheatingProcess {
  const counts = { computed: 0, flipped: 0 };
  const process: TileProcess = async (task, sources, scratch) => {
    const processed = await processTile(task, sources, scratch);
    const flip = counts.computed % every === 0;
    counts.computed += 1;
    const [first, ...rest] = processed.tiles;
    if (!flip || !first || !(first.png instanceof Uint8Array)) return processed;
    const { codes } = await decodeGrey(Buffer.from(first.png));
    const middle = Math.floor(codes.length / 2);
    codes[middle] = codes[middle]! ^ 0x01;
    counts.flipped += 1;
    return { ...processed, tiles: [{ ...first, png: await encodeStripPng(codes, task.width, task.height) }, ...rest] };
  };
  return { process, counts };
}
