/** Which bands a request's outputs read (built-in indices and its expression), and who needs a band, for messages. */
import { BAND_NAMES, EXPRESSION_INDEX, INDEX_BANDS, type BandName, type CustomExpression, type IndexName } from '../types.js';

/** The bands an output reads. */
export function bandsOfOutput(index: IndexName, expression: CustomExpression | undefined): readonly BandName[] {
  return index === EXPRESSION_INDEX ? (expression?.bands ?? []) : INDEX_BANDS[index];
}

/** The bands the outputs need, in BAND_NAMES order. */
export function neededBands(indices: readonly IndexName[], expression: CustomExpression | undefined): BandName[] {
  const needed = new Set<BandName>(indices.flatMap((index) => bandsOfOutput(index, expression)));
  return BAND_NAMES.filter((name) => needed.has(name));
}

/** "ndvi and savi", "the expression": the outputs that read `name`. */
export function usersOf(name: BandName, indices: readonly IndexName[], expression: CustomExpression | undefined): string {
  return indices
    .filter((index) => bandsOfOutput(index, expression).includes(name))
    .map((index) => (index === EXPRESSION_INDEX ? 'the expression' : index))
    .join(' and ');
}
