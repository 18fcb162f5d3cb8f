/**
 * The indices of one task over its decoded bands: each built-in index by its formula (a normalised
 * difference on its own kernel, SAVI and EVI as expressions), and `expr`, the request's own band
 * math, parsed by the safe parser and compiled once for the task, its values mapped onto the codes
 * over the task's [expression_min, expression_max]. With mask_classes, the pixels whose SCL class is
 * one of them are no-data in every index, and each index's statistics count them (maskedPixels).
 */
import { InvalidRequestError } from '../shared/errors.js';
import { bandsOf, parseExpression } from '../shared/expression/parse-expression.js';
import type { TileTask__Output } from '../shared/proto/tile-service.js';
import { DifferenceRows } from '../shared/raster/difference-rows.js';
import { computeExpressionTile } from '../shared/raster/expression-tile.js';
import { computeIndexTile, type BandSamples } from '../shared/raster/index-math.js';
import { computeSclMask } from '../shared/raster/scl-mask.js';
import { BAND_NAMES, EXPRESSION_INDEX, INDEX_FORMULAS, INDEX_NAMES, SCL_BAND, type IndexName, type IndexStats } from '../shared/types.js';

export interface ComputedIndex {
  readonly index: IndexName;
  readonly codes: Uint8Array;
  readonly stats: IndexStats;
}

export interface IndexInputs {
  /** A band of the task by name, resampled onto the tile (throws when the task has none). */
  readonly band: (name: string) => BandSamples;
  /** width × height zeroed bytes for an index's codes (reused memory), or undefined for new ones. */
  readonly codes: () => Uint8Array | undefined;
}

function isBuiltIn(name: string): name is (typeof INDEX_NAMES)[number] {
  return (INDEX_NAMES as readonly string[]).includes(name);
}

export function computeIndices(task: TileTask__Output, inputs: IndexInputs): ComputedIndex[] {
  const scl = task.maskClasses.length > 0 ? computeSclMask(inputs.band(task.maskBand || SCL_BAND), task.maskClasses, task.width, task.height) : undefined;
  const differenceRows = new DifferenceRows(); // a kilobyte of WebAssembly, instantiated per task in well under a millisecond
  const computed = task.indices.map((index) => computeIndex(task, index, inputs, scl?.mask, differenceRows));
  if (!scl) return computed;
  return computed.map((result) => ({ ...result, stats: { ...result.stats, maskedPixels: scl.masked } }));
}

function computeIndex(task: TileTask__Output, index: string, inputs: IndexInputs, mask: Uint8Array | undefined, differenceRows: DifferenceRows): ComputedIndex {
  const codes = inputs.codes();
  const common = { width: task.width, height: task.height, reflectanceOffset: task.reflectanceOffset, ...(codes ? { codes } : {}), ...(mask ? { mask } : {}) };
  if (index === EXPRESSION_INDEX) {
    const range = { min: task.expressionMin, max: task.expressionMax };
    if (!(range.min < range.max) || !Number.isFinite(range.min) || !Number.isFinite(range.max)) {
      throw new InvalidRequestError(`task ${task.taskId}: the expression's range [${range.min}, ${range.max}] is not two finite numbers lo < hi`);
    }
    const names = bandsOf(parseExpression(task.expression, BAND_NAMES));
    const bands = new Map(names.map((name) => [name, inputs.band(name)]));
    return { index, ...computeExpressionTile({ ...common, text: task.expression, bands, range }) };
  }
  if (!isBuiltIn(index)) throw new InvalidRequestError(`unknown index "${index}"`);
  const formula = INDEX_FORMULAS[index];
  if (formula.kind === 'normalised-difference') return { index, ...computeIndexTile({ ...common, a: inputs.band(formula.a), b: inputs.band(formula.b), differenceRows }) };
  const bands = new Map(formula.bands.map((name) => [name, inputs.band(name)]));
  return { index, ...computeExpressionTile({ ...common, text: formula.text, bands }) };
}
