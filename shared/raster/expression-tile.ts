/**
 * An index given as an expression (SAVI, EVI; see INDEX_FORMULAS; or a request's own, `expr`) over a
 * tile, one output row at a time: each band's samples are gathered through its lookup tables as
 * reflectance ρ = (DN + offset) / 10000 in float32, the compiled expression runs over the row, and
 * the values become codes over `range` (default [−1, 1], clamped). A pixel is no-data when the SCL
 * mask covers it, a band has no source pixel there, a sample equals its band's no-data value (0 when
 * it declares none) or is NaN, or the value is not finite (a zero denominator). Statistics are of
 * the unclamped values, as for the other indices.
 */
import type { IndexStats } from '../types.js';
import { compileExpression, toCodes, type CodeRange } from '../expression/compile-expression.js';
import { bandsOf, parseExpression } from '../expression/parse-expression.js';
import type { BandSamples } from './index-math.js';

export interface ExpressionTileInput {
  readonly width: number;
  readonly height: number;
  readonly reflectanceOffset: number;
  /** The expression, over band names. */
  readonly text: string;
  /** Each band the expression may name, by name. */
  readonly bands: ReadonlyMap<string, BandSamples>;
  readonly range?: CodeRange;
  readonly codes?: Uint8Array;
  /** width × height: pixels where it is not 0 are no-data (the SCL mask). */
  readonly mask?: Uint8Array;
}

const FULL_RANGE: CodeRange = { min: -1, max: 1 };

export function computeExpressionTile(input: ExpressionTileInput): { codes: Uint8Array; stats: IndexStats } {
  const { width, height } = input;
  const node = parseExpression(input.text, [...input.bands.keys()]);
  const names = bandsOf(node);
  const compiled = compileExpression(node, names);
  const bands = names.map((name) => {
    const band = input.bands.get(name);
    if (!band) throw new Error(`expression tile: no band "${name}"`);
    return { ...band, nodata: band.values instanceof Float32Array ? Math.fround(band.nodata ?? 0) : (band.nodata ?? 0) };
  });
  const rows = bands.map(() => new Float32Array(width));
  const valid = new Uint8Array(width);
  const codes = input.codes ?? new Uint8Array(width * height);
  const out = new Uint8Array(width);
  let count = 0;
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  const { mask } = input;
  if (mask !== undefined && mask.length !== width * height) throw new Error(`expression tile: a mask of ${mask.length} for ${width}x${height}`);
  for (let j = 0; j < height; j++) {
    if (mask === undefined) valid.fill(1);
    else for (let i = 0; i < width; i++) valid[i] = mask[j * width + i] === 0 ? 1 : 0;
    for (const [k, band] of bands.entries()) {
      const row = rows[k] as Float32Array;
      const sourceRow = band.rows[j] as number;
      for (let i = 0; i < width; i++) {
        const column = band.columns[i] as number;
        if (sourceRow < 0 || column < 0) {
          valid[i] = 0;
          continue;
        }
        const dn = band.values[sourceRow * band.windowWidth + column] as number;
        if (dn === band.nodata || Number.isNaN(dn)) valid[i] = 0;
        else row[i] = (dn + input.reflectanceOffset) / 10000;
      }
    }
    const values = compiled.evaluate(rows, width);
    for (let i = 0; i < width; i++) {
      const v = values[i] as number;
      if (valid[i] === 0 || !Number.isFinite(v)) continue;
      count++;
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    toCodes(values, valid, width, input.range ?? FULL_RANGE, out);
    codes.set(out, j * width);
  }
  return { codes, stats: count === 0 ? { validPixels: 0, min: 0, max: 0, sum: 0 } : { validPixels: count, min, max, sum } };
}
