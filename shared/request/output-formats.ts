/**
 * The request rule for `formats`: which files a request's mosaics are published as. `png` (the
 * default: grey and colour PNGs with their sidecars), `cog` (a Cloud-Optimized GeoTIFF per index),
 * or both; names are case-insensitive, repeats count once, the result in OUTPUT_FORMATS order.
 */
import { InvalidRequestError } from '../errors.js';
import { OUTPUT_FORMATS, type OutputFormat } from '../types.js';

const isFormat = (name: string): name is OutputFormat => (OUTPUT_FORMATS as readonly string[]).includes(name);

/** Null, absent or empty: png only (the column default). */
export function parseFormats(formats: readonly (string | null)[] | null | undefined): OutputFormat[] {
  if ((formats?.length ?? 0) > OUTPUT_FORMATS.length * 4) {
    throw new InvalidRequestError(`${formats?.length} formats requested; tessera writes ${OUTPUT_FORMATS.join(', ')}`);
  }
  // A text[] may hold NULLs ('{png,NULL}'): they name no format.
  const names = (formats ?? []).map((name) => (name ?? '').trim().toLowerCase()).filter((name) => name !== '');
  if (names.length === 0) return ['png'];
  const unknown = names.filter((name) => !isFormat(name));
  if (unknown.length > 0) {
    throw new InvalidRequestError(
      `unknown output format ${unknown.map((name) => `"${name.slice(0, 40)}"`).join(', ')}; tessera writes ${OUTPUT_FORMATS.join(', ')} (e.g. formats = '{png,cog}')`,
    );
  }
  return OUTPUT_FORMATS.filter((format) => names.includes(format));
}
