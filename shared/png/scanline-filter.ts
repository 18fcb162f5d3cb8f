/**
 * PNG scanline filtering (PNG spec §7.3, §9) for 8-bit, one-byte-per-pixel rows: each output row is a
 * filter-type byte followed by the filtered row. The first row never uses a filter that reads the row
 * above (Up, Average, Paeth): a strip's first row follows another strip's last row once stitched, so it
 * must decode the same whatever is above it.
 */

/** Filter choices: one PNG filter type for every row, or `adaptive` (per row, libpng's heuristic). */
export const ROW_FILTERS = ['none', 'sub', 'up', 'average', 'paeth', 'adaptive'] as const;
export type RowFilter = (typeof ROW_FILTERS)[number];

/** PNG filter-type bytes. */
export const FilterType = { none: 0, sub: 1, up: 2, average: 3, paeth: 4 } as const;
type FilterTypeByte = (typeof FilterType)[keyof typeof FilterType];

/** Filter types that do not read the row above, so a strip's first row may use them. */
export const FIRST_ROW_FILTER_TYPES: readonly number[] = [FilterType.none, FilterType.sub];

const ALL_TYPES: readonly FilterTypeByte[] = [0, 1, 2, 3, 4];
const FIRST_ROW_TYPES: readonly FilterTypeByte[] = [FilterType.none, FilterType.sub]; // as above, typed

/**
 * Filter `rows` rows of `width` codes (row-major) into rows × (width + 1) bytes. Rows after the first
 * use `filter`; the first uses Sub when `filter` reads the row above (the three such filters reduce to
 * None or Sub against a zero row anyway), and `adaptive` picks None or Sub for it.
 */
export function filterRows(codes: Uint8Array, width: number, rows: number, filter: RowFilter, into?: Uint8Array): Buffer {
  if (!Number.isInteger(width) || !Number.isInteger(rows) || width < 1 || rows < 1 || codes.length !== width * rows) {
    throw new RangeError(`filterRows: ${codes.length} codes for ${width}×${rows}`);
  }
  const stride = width + 1;
  if (into && into.length !== rows * stride) throw new RangeError(`filterRows: ${into.length} bytes to filter ${rows} rows of ${width} into`);
  const out = into ? Buffer.from(into.buffer, into.byteOffset, into.length) : Buffer.allocUnsafe(rows * stride);
  const scratch = Buffer.allocUnsafe(filter === 'adaptive' ? width : 0);
  let above: Uint8Array = new Uint8Array(width); // only None and Sub are used on the first row
  for (let y = 0; y < rows; y++) {
    const row = codes.subarray(y * width, (y + 1) * width);
    const type = filter === 'adaptive' ? bestType(row, above, y === 0, scratch) : fixedType(filter, y === 0);
    out[y * stride] = type;
    applyFilter(type, row, above, out.subarray(y * stride + 1, (y + 1) * stride));
    above = row;
  }
  return out;
}

function fixedType(filter: Exclude<RowFilter, 'adaptive'>, firstRow: boolean): FilterTypeByte {
  const type = FilterType[filter];
  return firstRow && !FIRST_ROW_FILTER_TYPES.includes(type) ? FilterType.sub : type;
}

/**
 * libpng's heuristic: the type whose output has the smallest sum of bytes read as signed (|−128..127|),
 * among the types allowed for the row (only None and Sub for a first row).
 */
function bestType(row: Uint8Array, above: Uint8Array, firstRow: boolean, scratch: Buffer): FilterTypeByte {
  let best: FilterTypeByte = FilterType.none;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const type of firstRow ? FIRST_ROW_TYPES : ALL_TYPES) {
    applyFilter(type, row, above, scratch);
    let score = 0;
    for (let x = 0; x < scratch.length; x++) {
      const v = scratch[x]!;
      score += v < 128 ? v : 256 - v;
    }
    if (score < bestScore) {
      bestScore = score;
      best = type;
    }
  }
  return best;
}

/** Write `row` filtered with `type` against the row `above` into `out` (all the same length). */
function applyFilter(type: FilterTypeByte, row: Uint8Array, above: Uint8Array, out: Uint8Array): void {
  const n = row.length;
  switch (type) {
    case FilterType.none:
      out.set(row);
      return;
    case FilterType.sub:
      out[0] = row[0]!;
      for (let x = 1; x < n; x++) out[x] = row[x]! - row[x - 1]!;
      return;
    case FilterType.up:
      for (let x = 0; x < n; x++) out[x] = row[x]! - above[x]!;
      return;
    case FilterType.average:
      out[0] = row[0]! - (above[0]! >> 1);
      for (let x = 1; x < n; x++) out[x] = row[x]! - ((row[x - 1]! + above[x]!) >> 1);
      return;
    case FilterType.paeth:
      out[0] = row[0]! - above[0]!; // left and upper-left count as 0: the predictor is the pixel above
      for (let x = 1; x < n; x++) out[x] = row[x]! - paethPredictor(row[x - 1]!, above[x]!, above[x - 1]!);
      return;
  }
}

/** The Paeth predictor (PNG spec §9.4): whichever of left, above, upper-left is nearest a + b − c. */
function paethPredictor(a: number, b: number, c: number): number {
  const pa = Math.abs(b - c);
  const pb = Math.abs(a - c);
  const pc = Math.abs(a + b - 2 * c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}
