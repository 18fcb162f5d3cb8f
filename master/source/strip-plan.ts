/**
 * Cuts the output grid into tiles, top to bottom: each tile is a full-width strip of rows, so the
 * workers' PNGs can be stitched into the mosaic without decoding (see shared/png). A strip holds
 * about `pixelBudget` pixels, which keeps a worker's memory the same whatever the scene's size.
 * When the reference band is stored in blocks (tiles, or a striped file's strips), strip edges fall
 * on block rows, so a block is read by as few strips as its size allows.
 */
import { MIN_STRIP_ROWS, validateStripRows } from '../../shared/request/request-limits.js';

/** The strip-rows rule belongs to the request rules (shared/request); re-exported for this module's callers. */
export { MAX_STRIP_ROWS, MIN_STRIP_ROWS, validateStripRows } from '../../shared/request/request-limits.js';

export interface PlannedStrip {
  readonly index: number;
  /** First output row of the strip. */
  readonly top: number;
  readonly rows: number;
}

/**
 * The reference band's block rows, seen from the output grid: block height, and the reference
 * band's row at the output grid's row 0 (0 when they coincide).
 */
export interface ReferenceRows {
  readonly height: number;
  readonly offsetY?: number;
}

export interface StripPlanOptions {
  /** Target pixels per strip (width × rows); used when `rows` is not given. */
  readonly pixelBudget: number;
  /** Rows per strip asked for by the request; rounded down to whole block rows when at least one. */
  readonly rows?: number | undefined;
  readonly reference?: ReferenceRows | undefined;
}

/**
 * Rows per strip: the request's `rows`, or as many rows as fit the pixel budget. With block rows,
 * a count of at least one block is rounded down to whole blocks; a smaller one to the largest
 * divisor of the block height that fits, so a block is split between an exact number of strips.
 */
export function stripRowsFor(width: number, options: StripPlanOptions): number {
  if (options.rows !== undefined) validateStripRows(options.rows);
  const wanted = options.rows ?? Math.max(MIN_STRIP_ROWS, Math.floor(options.pixelBudget / Math.max(1, width)));
  const block = options.reference?.height;
  if (block === undefined || !Number.isInteger(block) || block < 1) return wanted;
  if (wanted >= block) return Math.floor(wanted / block) * block;
  for (let rows = wanted; rows > 1; rows--) if (block % rows === 0) return rows;
  return 1;
}

/**
 * The strips of a `grid.width` × `grid.height` grid, top to bottom. Strip boundaries sit at output
 * rows p with (p + offsetY) ≡ 0 (mod rows), so the first and last strips may be shorter.
 */
export function planStrips(grid: { readonly width: number; readonly height: number }, options: StripPlanOptions): PlannedStrip[] {
  const rows = stripRowsFor(grid.width, options);
  const offset = options.reference?.offsetY ?? 0;
  const phase = ((offset % rows) + rows) % rows;
  const strips: PlannedStrip[] = [];
  let top = 0;
  let end = phase === 0 ? rows : rows - phase;
  while (top < grid.height) {
    const stop = Math.min(end, grid.height);
    strips.push({ index: strips.length, top, rows: stop - top });
    top = stop;
    end = stop + rows;
  }
  return strips;
}
