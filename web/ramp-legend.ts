/** The colour ramps as the pages' legends draw them: colour stops from the same lookup tables the master colours mosaics with. */
import { colourRamp } from '../master/output/colour-ramp.js';
import { codeToIndexValue } from '../shared/raster/index-math.js';
import { OUTPUT_NAMES, type IndexName } from '../shared/types.js';

export interface LegendStop {
  /** The index value, −1..1 (for `expr`, the request's range replaces these: see preview-map.js). */
  readonly value: number;
  /** CSS colour, #rrggbb. */
  readonly colour: string;
}

const hex = (n: number): string => n.toString(16).padStart(2, '0');

/** `stops` evenly spaced codes from 1 to 255 (code 0 is no-data, transparent). */
export function legendStops(index: IndexName, stops = 17): LegendStop[] {
  const lut = colourRamp(index);
  return Array.from({ length: stops }, (_, i) => {
    const code = 1 + Math.round((254 * i) / (stops - 1));
    const at = code * 4;
    return { value: codeToIndexValue(code), colour: `#${hex(lut[at] ?? 0)}${hex(lut[at + 1] ?? 0)}${hex(lut[at + 2] ?? 0)}` };
  });
}

export function allLegends(): Record<IndexName, LegendStop[]> {
  return Object.fromEntries(OUTPUT_NAMES.map((index) => [index, legendStops(index)])) as Record<IndexName, LegendStop[]>;
}
