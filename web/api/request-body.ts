/**
 * POST /api/requests: a JSON body named like the table's columns (`source`, `bands`, `indices`,
 * `formats`, `strip_rows`, `reflectance_offset`, `url`, `ul_lat`, `ul_lng`, `lr_lat`, `lr_lng`, `resolution`,
 * `expression`, `range`, `mask_classes`)
 * becomes a NewMosaicRequest. This module checks only the JSON's shape (which fields, which JSON
 * types); what the values may be is the request rules' (shared/request), applied after it.
 */
import { InvalidRequestError } from '../../shared/errors.js';
import type { NewMosaicRequest } from '../../master/store/request-store.js';

const NUMBER_FIELDS = {
  reflectance_offset: 'reflectanceOffset',
  strip_rows: 'stripRows',
  ul_lat: 'ulLat',
  ul_lng: 'ulLng',
  lr_lat: 'lrLat',
  lr_lng: 'lrLng',
  resolution: 'resolution',
} as const;

const FIELDS = ['source', 'bands', 'indices', 'url', ...Object.keys(NUMBER_FIELDS), 'expression', 'range', 'mask_classes', 'formats'];

type Body = Readonly<Record<string, unknown>>;

function stringOrNull(body: Body, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new InvalidRequestError(`${field} must be a string, got ${JSON.stringify(value)}`);
  return value;
}

/** Null is as good as leaving the field out: the column default (null, or 0 for reflectance_offset). */
function numberOrNull(body: Body, field: string): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number') throw new InvalidRequestError(`${field} must be a number, got ${JSON.stringify(value)}`);
  return value;
}

function indices(body: Body): string[] {
  const value = body['indices'];
  if (value === undefined || value === null) return ['ndvi']; // the column default
  if (!Array.isArray(value) || !value.every((name) => typeof name === 'string')) {
    throw new InvalidRequestError(`indices must be an array of index names, e.g. ["ndvi", "ndsi"], got ${JSON.stringify(value)}`);
  }
  return value;
}

function formats(body: Body): string[] | undefined {
  const value = body['formats'];
  if (value === undefined || value === null) return undefined; // the column default, ["png"]
  if (!Array.isArray(value) || !value.every((name) => typeof name === 'string')) {
    throw new InvalidRequestError(`formats must be an array of output formats, e.g. ["png", "cog"], got ${JSON.stringify(value)}`);
  }
  return value;
}

/** An array of numbers (range: [lo, hi]; how many and which is the request rules' to say). */
function numbersOrNull(body: Body, field: string): number[] | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'number')) {
    throw new InvalidRequestError(`${field} must be an array of numbers, e.g. [-1, 1], got ${JSON.stringify(value).slice(0, 100)}`);
  }
  return value;
}

/** Band name → path or URL (sentinel2), or → band number (earthdaily, where numbers are fine too). */
function bands(body: Body): Record<string, string> | undefined {
  const value = body['bands'];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidRequestError('bands must be a JSON object from band name to file, e.g. {"red": "/data/input/B04.tif", "nir": "/data/input/B08.tif"}');
  }
  return Object.fromEntries(
    Object.entries(value).map(([name, ref]) => {
      if (typeof ref === 'number' && Number.isInteger(ref)) return [name, String(ref)];
      if (typeof ref !== 'string') throw new InvalidRequestError(`band "${name}" must be a file path or URL string, got ${JSON.stringify(ref)}`);
      return [name, ref];
    }),
  );
}

/** The request the body describes; an InvalidRequestError saying what is wrong with its shape. */
export function requestFromBody(body: unknown): NewMosaicRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidRequestError(`the body must be a JSON object with the request's columns (${FIELDS.join(', ')})`);
  }
  const record = body as Body;
  const unknown = Object.keys(record).filter((field) => !FIELDS.includes(field));
  if (unknown.length > 0) {
    throw new InvalidRequestError(`unknown field ${unknown.map((f) => `"${f}"`).join(', ')}; a request has ${FIELDS.join(', ')}`);
  }
  const request: NewMosaicRequest = { indices: indices(record) };
  const source = stringOrNull(record, 'source');
  if (source !== undefined) request.source = source;
  const given = bands(record);
  if (given !== undefined) request.bands = given;
  const wanted = formats(record);
  if (wanted !== undefined) request.formats = wanted;
  const url = stringOrNull(record, 'url');
  if (url !== undefined) request.url = url;
  const expression = stringOrNull(record, 'expression');
  if (expression !== undefined) request.expression = expression;
  const range = numbersOrNull(record, 'range');
  if (range !== undefined) request.range = range;
  const maskClasses = numbersOrNull(record, 'mask_classes');
  if (maskClasses !== undefined) request.maskClasses = maskClasses;
  for (const [field, key] of Object.entries(NUMBER_FIELDS)) {
    const value = numberOrNull(record, field);
    if (value !== undefined) request[key] = value;
  }
  return request;
}
