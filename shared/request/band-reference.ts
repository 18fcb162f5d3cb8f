/** A band reference as a request gives it: `path-or-url` or `path-or-url#N` (band N, 1-based). */
import { InvalidRequestError } from '../errors.js';

/** A parsed band reference: where the GeoTIFF is and which band (1-based) of it to use. */
export interface BandReference {
  readonly uri: string;
  readonly band: number;
}

/** Splits at the last "#" (a URL's query may hold one); no "#": band 1. */
export function parseBandReference(text: string): BandReference {
  const trimmed = text.trim();
  if (trimmed === '') throw new InvalidRequestError('band reference is empty: expected "path-or-url" or "path-or-url#N"');
  const hash = trimmed.lastIndexOf('#');
  if (hash < 0) return { uri: trimmed, band: 1 };
  const uri = trimmed.slice(0, hash);
  const suffix = trimmed.slice(hash + 1);
  if (uri === '') throw new InvalidRequestError(`band reference "${text}" has no path or URL before "#"`);
  const band = Number(suffix);
  if (!/^[0-9]+$/.test(suffix) || !Number.isSafeInteger(band) || band < 1) {
    throw new InvalidRequestError(
      `band reference "${text}": "#${suffix}" is not a band number (expected # followed by a positive integer, e.g. "${uri}#1")`,
    );
  }
  return { uri, band };
}
