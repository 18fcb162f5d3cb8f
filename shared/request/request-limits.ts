/**
 * The bounds a request's numbers and texts must keep, and the strip-rows rule: read by the request
 * rules (request-rules.ts), the CLI's flags and the master's strip planner alike.
 */
import { InvalidRequestError } from '../errors.js';

export const MIN_STRIP_ROWS = 1;
export const MAX_STRIP_ROWS = 65_536;

/**
 * Largest |reflectance_offset|: digital numbers are reflectance × 10000, so an offset beyond ±10000
 * moves every pixel out of the physical range (and 1e300 would leave no valid pixel at all).
 */
export const MAX_REFLECTANCE_OFFSET = 10_000;

/** Largest `bands` value a row may carry (as JSON): a handful of paths or URLs fit many times over. */
export const MAX_BANDS_JSON_BYTES = 64 * 1024;
/** Longest `url` (a signed URL's query included). */
export const MAX_URL_LENGTH = 16 * 1024;

/** Throws InvalidRequestError unless `rows` is a whole number of rows in [1, 65536]. */
export function validateStripRows(rows: number): void {
  if (!Number.isInteger(rows) || rows < MIN_STRIP_ROWS || rows > MAX_STRIP_ROWS) {
    throw new InvalidRequestError(
      `strip_rows must be a whole number of rows from ${MIN_STRIP_ROWS} to ${MAX_STRIP_ROWS}, got ${String(rows)}`,
    );
  }
}
