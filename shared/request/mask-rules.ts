/**
 * The rules of SCL cloud masking: `mask_classes` (NULL: the default classes, wherever an scl band is
 * there to mask by; `{}`: no masking, and the scl band is not read; a list: those classes, and the
 * scl band must be there), and where the scl band comes from (a sentinel2 request's bands; a STAC
 * item's asset, found by the master; an EarthDaily mosaic has none).
 */
import { InvalidRequestError } from '../errors.js';
import { DEFAULT_MASK_CLASSES, SCL_BAND, type BandInput, type SclMask } from '../types.js';
import { parseBandReference } from './band-reference.js';

/** The largest Sentinel-2 SCL class (11: snow or ice). */
export const MAX_SCL_CLASS = 11;

/** Undefined: masking is off (`{}`). */
export function parseMaskClasses(value: readonly (number | null)[] | null | undefined): SclMask | undefined {
  if (value === null || value === undefined) return { classes: DEFAULT_MASK_CLASSES, required: false };
  if (!Array.isArray(value)) throw new InvalidRequestError('mask_classes must be a list of SCL class numbers, e.g. {0,1,3,8,9,10}');
  const bad = value.find((entry) => typeof entry !== 'number' || !Number.isInteger(entry) || entry < 0 || entry > MAX_SCL_CLASS);
  if (bad !== undefined || value.length > 64) {
    throw new InvalidRequestError(
      `mask_classes must be Sentinel-2 SCL class numbers from 0 to ${MAX_SCL_CLASS} (e.g. {0,1,3,8,9,10}; {} for no masking), ` +
        `got ${value.length > 64 ? `${value.length} of them` : `{${value.map(String).join(',')}}`}`,
    );
  }
  if (value.length === 0) return undefined;
  return { classes: [...new Set(value as number[])].sort((a, b) => a - b), required: true };
}

/**
 * A sentinel2 request's scl band (its `bands` entry `ref`) as the mask needs it: undefined when
 * masking is off (the band is then not read) or there is none to mask by; an error when
 * mask_classes names classes and the request gives no scl band.
 */
export function sclBandInput(ref: unknown, mask: SclMask | undefined): BandInput | undefined {
  if (mask === undefined) return undefined;
  if (ref === undefined || ref === null || ref === '') {
    if (!mask.required) return undefined;
    throw new InvalidRequestError(
      `mask_classes {${mask.classes.join(',')}} needs the scl band (Sentinel-2 Scene Classification, 20 m): ` +
        'add "scl" to bands, or set mask_classes to {} for no masking',
    );
  }
  if (typeof ref !== 'string') throw new InvalidRequestError(`band "${SCL_BAND}" must be a file path or URL string`);
  return { name: SCL_BAND, ...parseBandReference(ref) };
}

/** EarthDaily mosaics carry no scene classification: masking is off, and asking for classes is an error. */
export function earthdailyMask(mask: SclMask | undefined): undefined {
  if (mask?.required) {
    throw new InvalidRequestError('mask_classes needs an scl band, and an earthdaily mosaic has none: leave mask_classes out, or set it to {}');
  }
  return undefined;
}
