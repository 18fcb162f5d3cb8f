/**
 * The geometry of a mosaic's Cloud-Optimized GeoTIFF, shared by the worker (which cuts its strip
 * into pieces of the COG's tiles) and the master (which checks the pieces and concatenates them):
 * 512 x 512 tiles, edge tiles padded with code 0; overview level ℓ is the full-resolution grid
 * decimated by 2^ℓ (nearest: overview pixel (x, y) is full pixel (x·2^ℓ, y·2^ℓ)), its size
 * ceil(width / 2^ℓ) x ceil(height / 2^ℓ) as GDAL computes it; levels are added until the smallest
 * fits in one tile, as GDAL's COG driver does.
 *
 * A strip of rows [top, top + rows) owns, at level ℓ, the overview rows y with top ≤ y·2^ℓ < top + rows;
 * whichever strip owns a level's last row also owns the padding rows below it. Where that range meets
 * a tile row, the strip gives one piece per tile column: its rows of that tile. Every row of every
 * tile thus belongs to exactly one strip, whatever the strips' heights.
 */

/** Tile width and height of every level. */
export const COG_TILE = 512;

/** A level's size in pixels. */
export interface LevelSize {
  readonly width: number;
  readonly height: number;
}

/** One strip's rows of one tile. */
export interface CogPieceSpec {
  readonly level: number;
  readonly tileRow: number;
  readonly tileColumn: number;
  /** The piece's first row within the tile, and how many rows it holds (padding rows included). */
  readonly firstRow: number;
  readonly rows: number;
}

/** Uncompressed bytes of a piece: its rows of 512 codes. */
export function pieceBytes(piece: Pick<CogPieceSpec, 'rows'>): number {
  return piece.rows * COG_TILE;
}

/** The number of overview levels of a grid (0: it fits in one tile). */
export function overviewLevels(width: number, height: number): number {
  let levels = 0;
  while (Math.max(Math.ceil(width / 2 ** levels), Math.ceil(height / 2 ** levels)) > COG_TILE) levels++;
  return levels;
}

/** Level 0 (full resolution) to the last overview. */
export function levelSizes(width: number, height: number): LevelSize[] {
  const sizes: LevelSize[] = [];
  for (let level = 0; level <= overviewLevels(width, height); level++) {
    sizes.push({ width: Math.ceil(width / 2 ** level), height: Math.ceil(height / 2 ** level) });
  }
  return sizes;
}

/** Tiles across and down a level. */
export function tileCounts(size: LevelSize): { readonly across: number; readonly down: number } {
  return { across: Math.ceil(size.width / COG_TILE), down: Math.ceil(size.height / COG_TILE) };
}

/** The overview rows [first, end) a strip owns at a level (end includes the padding when it owns the last row). */
export function ownedRows(size: LevelSize, level: number, top: number, rows: number): { readonly first: number; readonly end: number; readonly lastData: number } {
  const step = 2 ** level;
  const first = Math.ceil(top / step);
  const lastData = Math.min(Math.ceil((top + rows) / step), size.height);
  if (first >= lastData) return { first, end: first, lastData: first };
  const end = lastData === size.height ? tileCounts(size).down * COG_TILE : lastData;
  return { first, end, lastData };
}

/**
 * The pieces a strip gives, in the order a worker returns them: level 0 first, then each overview;
 * within a level by tile row, then tile column.
 */
export function cogPiecesOf(grid: LevelSize, top: number, rows: number): CogPieceSpec[] {
  const pieces: CogPieceSpec[] = [];
  levelSizes(grid.width, grid.height).forEach((size, level) => {
    const owned = ownedRows(size, level, top, rows);
    if (owned.first >= owned.end) return; // the strip holds none of this level's rows
    const { across } = tileCounts(size);
    for (let tileRow = Math.floor(owned.first / COG_TILE); tileRow * COG_TILE < owned.end; tileRow++) {
      const from = Math.max(owned.first, tileRow * COG_TILE);
      const to = Math.min(owned.end, (tileRow + 1) * COG_TILE);
      for (let tileColumn = 0; tileColumn < across; tileColumn++) {
        pieces.push({ level, tileRow, tileColumn, firstRow: from - tileRow * COG_TILE, rows: to - from });
      }
    }
  });
  return pieces;
}
