/**
 * Cuts the output grid into tiles, row by row. When the reference band is tiled, tile edges fall
 * on its internal block edges so a tile never needs part of a block another tile also reads
 * (beyond what its size makes unavoidable).
 */
import { InvalidRequestError } from '../../shared/errors.js';

export const MIN_TILE_SIZE = 16;
export const MAX_TILE_SIZE = 8192;

export interface PlannedTile {
  readonly index: number;
  /** Column / row of the tile's upper-left pixel in the output grid. */
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/**
 * The reference band's internal blocks, seen from the output grid: block size, and where the
 * output grid's pixel (0, 0) lies in the reference band (column/row offset; 0 when they coincide).
 */
export interface ReferenceBlock {
  readonly width: number;
  readonly height: number;
  readonly offsetX?: number;
  readonly offsetY?: number;
}

/** Throws InvalidRequestError unless `tileSize` is an integer in [16, 8192]. */
export function validateTileSize(tileSize: number): void {
  if (!Number.isInteger(tileSize) || tileSize < MIN_TILE_SIZE || tileSize > MAX_TILE_SIZE) {
    throw new InvalidRequestError(
      `tile size must be an integer from ${MIN_TILE_SIZE} to ${MAX_TILE_SIZE} pixels, got ${String(tileSize)}`,
    );
  }
}

/**
 * Plans the tiles of a `grid.width` × `grid.height` output grid. With a `referenceBlock`, a
 * requested size at least the block size is rounded down to a multiple of it (per axis) and the
 * tile grid is anchored on a block boundary, so the first and last tiles of a row or column may
 * be smaller; without one, tiles start at (0, 0) and only the last ones are smaller.
 */
export function planTiles(
  grid: { readonly width: number; readonly height: number },
  requestedTileSize: number,
  referenceBlock?: ReferenceBlock,
): PlannedTile[] {
  validateTileSize(requestedTileSize);
  const xs = axis(grid.width, requestedTileSize, referenceBlock?.width, referenceBlock?.offsetX ?? 0);
  const ys = axis(grid.height, requestedTileSize, referenceBlock?.height, referenceBlock?.offsetY ?? 0);
  const tiles: PlannedTile[] = [];
  for (const [top, height] of ys) {
    for (const [left, width] of xs) tiles.push({ index: tiles.length, left, top, width, height });
  }
  return tiles;
}

/** [start, length] spans covering [0, length) along one axis. */
function axis(length: number, requested: number, block: number | undefined, offset: number): Array<[number, number]> {
  let size = requested;
  let phase = 0;
  if (block !== undefined && Number.isInteger(block) && block > 0) {
    if (requested >= block) size = Math.floor(requested / block) * block;
    // Tile boundaries sit at output positions p with (p + offset) ≡ 0 (mod size).
    phase = ((offset % size) + size) % size;
  }
  const spans: Array<[number, number]> = [];
  let start = 0;
  let end = phase === 0 ? size : size - phase;
  while (start < length) {
    const stop = Math.min(end, length);
    spans.push([start, stop - start]);
    start = stop;
    end = stop + size;
  }
  return spans;
}
