/**
 * The rules of a request's own band math: `expression` (text over the STAC band names, parsed by the
 * safe parser — never evaluated as JavaScript) and `range` [lo, hi], the values mapped onto the codes
 * 1…255 (default [−1, 1], the mapping of the normalised differences). The output is named `expr`.
 */
import { InvalidRequestError } from '../errors.js';
import { bandsOf, parseExpression } from '../expression/parse-expression.js';
import { BAND_NAMES, type BandName, type CustomExpression, type ValueRange } from '../types.js';

/** The range of an expression that names none. */
export const DEFAULT_EXPRESSION_RANGE: ValueRange = { min: -1, max: 1 };

/** Largest |lo| or |hi| of a range: beyond it the 254 steps between codes stop being numbers one can read. */
const MAX_RANGE_MAGNITUDE = 1e12;

/**
 * The expression of a row, or undefined when it has none. Throws InvalidRequestError for text that
 * does not parse, names something other than a band, or a range that is not two finite numbers lo < hi.
 */
export function parseCustomExpression(expression: string | null | undefined, range: readonly (number | null)[] | null | undefined): CustomExpression | undefined {
  const text = expression ?? null;
  if (text === null || text.trim() === '') {
    if (range !== null && range !== undefined) {
      throw new InvalidRequestError('range is the value range of a custom expression, and the request has no expression: set expression too, or leave range out');
    }
    return undefined;
  }
  const node = parseExpression(text, BAND_NAMES);
  return { text: text.trim(), bands: sortedBands(bandsOf(node) as BandName[]), range: parseRange(range) };
}

function sortedBands(bands: readonly BandName[]): BandName[] {
  return BAND_NAMES.filter((name) => bands.includes(name));
}

function parseRange(range: readonly (number | null)[] | null | undefined): ValueRange {
  if (range === null || range === undefined) return DEFAULT_EXPRESSION_RANGE;
  const shown = `[${range.map((value) => String(value)).join(', ')}]`;
  if (!Array.isArray(range) || range.length !== 2) {
    throw new InvalidRequestError(`range must be two numbers [lo, hi], the values mapped onto codes 1 to 255 (e.g. [-1, 1]), got ${shown.slice(0, 100)}`);
  }
  const [lo, hi] = range;
  if (typeof lo !== 'number' || typeof hi !== 'number' || !Number.isFinite(lo) || !Number.isFinite(hi)) {
    throw new InvalidRequestError(`range must be two finite numbers [lo, hi], got ${shown}`);
  }
  if (Math.abs(lo) > MAX_RANGE_MAGNITUDE || Math.abs(hi) > MAX_RANGE_MAGNITUDE) {
    throw new InvalidRequestError(`range ${shown} is too wide: lo and hi must lie from -${MAX_RANGE_MAGNITUDE} to ${MAX_RANGE_MAGNITUDE}`);
  }
  if (!(lo < hi)) throw new InvalidRequestError(`range ${shown} must have lo < hi: lo is the value of code 1, hi that of code 255`);
  return { min: lo, max: hi };
}
