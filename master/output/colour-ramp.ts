/**
 * Colour ramps for the index mosaics: a 256-entry RGBA lookup table per index, and applying one to codes.
 * NDVI uses ColorBrewer's RdYlGn (red low, yellow at 0, green high); NDSI a snow ramp (dark brown for
 * bare ground, through grey-blue, to light blue and white above the usual snow threshold NDSI > 0.4);
 * NDWI and NDMI ColorBrewer's BrBG (dry brown to water blue); NBR, SAVI and EVI RdYlGn like NDVI; a
 * custom expression (`expr`), whose meaning tessera cannot know, viridis from its range's lo to its hi.
 * Code 0 (no-data) is fully transparent; every other code is opaque.
 */
import { codeToIndexValue } from '../../shared/raster/index-math.js';
import type { IndexName } from '../../shared/types.js';

/** A colour stop: the index value where the ramp has exactly this colour. */
interface Stop {
  readonly at: number;
  readonly rgb: readonly [number, number, number];
}

/** ColorBrewer RdYlGn, 11 classes, spread evenly over −1..+1. */
const RD_YL_GN: readonly Stop[] = [
  [165, 0, 38],
  [215, 48, 39],
  [244, 109, 67],
  [253, 174, 97],
  [254, 224, 139],
  [255, 255, 191],
  [217, 239, 139],
  [166, 217, 106],
  [102, 189, 99],
  [26, 152, 80],
  [0, 104, 55],
].map((rgb, i, all) => ({ at: -1 + (2 * i) / (all.length - 1), rgb: rgb as [number, number, number] }));

/** Snow: water/soil/vegetation (dark to grey-brown), grey-blue transition, light blue and white for snow. */
const SNOW: readonly Stop[] = [
  { at: -1, rgb: [60, 36, 18] },
  { at: -0.5, rgb: [115, 82, 50] },
  { at: 0, rgb: [160, 146, 128] },
  { at: 0.2, rgb: [128, 148, 176] },
  { at: 0.4, rgb: [200, 225, 248] },
  { at: 0.6, rgb: [232, 243, 255] },
  { at: 1, rgb: [255, 255, 255] },
];

/** Water and moisture (NDWI, NDMI): ColorBrewer BrBG, dry browns through white to water blues. */
const BR_BG: readonly Stop[] = [
  [84, 48, 5],
  [140, 81, 10],
  [191, 129, 45],
  [223, 194, 125],
  [246, 232, 195],
  [245, 245, 245],
  [199, 234, 229],
  [128, 205, 193],
  [53, 151, 143],
  [1, 102, 94],
  [0, 60, 48],
].map((rgb, i, all) => ({ at: -1 + (2 * i) / (all.length - 1), rgb: rgb as [number, number, number] }));

/** Viridis (matplotlib's, 9 stops), over the codes of a custom expression's range: perceptually even, no meaning implied. */
const VIRIDIS: readonly Stop[] = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
].map((rgb, i, all) => ({ at: -1 + (2 * i) / (all.length - 1), rgb: rgb as [number, number, number] }));

/** NBR, SAVI and EVI read like NDVI (low bare or burned, high green): RdYlGn too. */
const RAMPS: Readonly<Record<IndexName, readonly Stop[]>> = { ndvi: RD_YL_GN, ndsi: SNOW, ndwi: BR_BG, ndmi: BR_BG, nbr: RD_YL_GN, savi: RD_YL_GN, evi: RD_YL_GN, expr: VIRIDIS };

/** Bytes per LUT entry (RGBA). */
const RGBA = 4;

/** A fresh 256 × RGBA lookup table for an index; entry 0 (no-data) is (0, 0, 0, 0). */
export function colourRamp(index: IndexName): Uint8Array {
  const stops = RAMPS[index];
  const lut = new Uint8Array(256 * RGBA);
  for (let code = 1; code <= 255; code++) {
    const rgb = interpolate(stops, codeToIndexValue(code));
    lut[code * RGBA] = rgb[0];
    lut[code * RGBA + 1] = rgb[1];
    lut[code * RGBA + 2] = rgb[2];
    lut[code * RGBA + 3] = 255;
  }
  return lut;
}

/** Map codes through a 256-entry RGBA LUT: returns codes.length × 4 bytes, RGBA interleaved. */
export function colouriseCodes(codes: Uint8Array, lut: Uint8Array): Uint8Array {
  if (lut.length !== 256 * RGBA) throw new RangeError(`colour LUT has ${lut.length} bytes, expected ${256 * RGBA}`);
  const out = new Uint8Array(codes.length * RGBA);
  for (let i = 0, o = 0; i < codes.length; i++, o += RGBA) {
    const e = codes[i]! * RGBA;
    out[o] = lut[e]!;
    out[o + 1] = lut[e + 1]!;
    out[o + 2] = lut[e + 2]!;
    out[o + 3] = lut[e + 3]!;
  }
  return out;
}

function interpolate(stops: readonly Stop[], value: number): [number, number, number] {
  const first = stops[0]!;
  const last = stops[stops.length - 1]!;
  if (value <= first.at) return [...first.rgb];
  if (value >= last.at) return [...last.rgb];
  let k = 1;
  while (stops[k]!.at < value) k++;
  const lo = stops[k - 1]!;
  const hi = stops[k]!;
  const t = (value - lo.at) / (hi.at - lo.at);
  return [0, 1, 2].map((c) => Math.round(lo.rgb[c]! + (hi.rgb[c]! - lo.rgb[c]!) * t)) as [number, number, number];
}
