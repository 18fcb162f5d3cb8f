/**
 * computeIndexTile's loop as it was before the fast paths (commit 74f8359, 2026-12-01), kept as the
 * bit-exact reference for the tests and the kernel benchmark: one lookup per band and pixel, float32
 * roundings everywhere, Math.min/Math.max. Inputs are assumed valid (computeIndexTile checks them).
 */
import type { IndexTileInput, IndexTileResult } from '../../shared/raster/index-math.js';
import type { IndexStats } from '../../shared/types.js';

export function referenceIndexTile(input: IndexTileInput): IndexTileResult {
  const { width, height } = input;
  const codes = new Uint8Array(width * height);
  const offset = input.reflectanceOffset;
  const valuesA = input.a.values;
  const valuesB = input.b.values;
  const colsA = input.a.columns;
  const colsB = input.b.columns;
  const strideA = input.a.windowWidth;
  const strideB = input.b.windowWidth;
  const effective = (nodata: number | null, values: unknown): number => (values instanceof Float32Array ? Math.fround(nodata ?? 0) : (nodata ?? 0));
  const nodataA = effective(input.a.nodata, valuesA);
  const nodataB = effective(input.b.nodata, valuesB);

  let valid = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;

  for (let j = 0; j < height; j++) {
    const rowA = input.a.rows[j]!;
    const rowB = input.b.rows[j]!;
    if (rowA < 0 || rowB < 0) continue;
    const baseA = rowA * strideA;
    const baseB = rowB * strideB;
    const outBase = j * width;
    for (let i = 0; i < width; i++) {
      const colA = colsA[i]!;
      const colB = colsB[i]!;
      if (colA < 0 || colB < 0) continue;
      const dnA = valuesA[baseA + colA]!;
      const dnB = valuesB[baseB + colB]!;
      if (dnA === nodataA || dnB === nodataB) continue;
      const shiftedA = Math.fround(dnA + offset);
      const shiftedB = Math.fround(dnB + offset);
      const den = Math.fround(shiftedA + shiftedB);
      if (!(den > 0)) continue;
      const value = Math.fround(Math.fround(shiftedA - shiftedB) / den);
      if (value !== value) continue;
      const clamped = value < -1 ? -1 : value > 1 ? 1 : value;
      codes[outBase + i] = 1 + Math.floor((clamped + 1) * 127 + 0.5);
      valid++;
      sum += value;
      min = Math.min(min, value);
      max = Math.max(max, value);
    }
  }

  const stats: IndexStats = valid === 0 ? { validPixels: 0, min: 0, max: 0, sum: 0 } : { validPixels: valid, min, max, sum };
  return { codes, stats };
}
