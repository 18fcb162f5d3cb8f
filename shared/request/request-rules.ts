/**
 * The request rules, in one place: turns a mosaic_requests row (typed in by a person, so anything
 * may be in it) into a validated MosaicJob, or an InvalidRequestError whose message tells the user
 * what to change. The master applies them to every row it claims; the CLI and the web API apply
 * them before inserting (check-request.ts), so a bad request is told the same words everywhere.
 */
import { parseBandLayout, type BandLayout } from '../config/env.js';
import { InvalidRequestError } from '../errors.js';
import { isHttpUrl } from '../urls.js';
import {
  BAND_NAMES,
  EXPRESSION_INDEX,
  INDEX_NAMES,
  SCL_BAND,
  SOURCE_KINDS,
  type BandInput,
  type BoundingBox,
  type CustomExpression,
  type EarthDailyJob,
  type IndexName,
  type MosaicJob,
  type SclMask,
  type Sentinel2Job,
  type SourceKind,
  type StacJob,
} from '../types.js';
import { parseBandReference } from './band-reference.js';
import { parseFormats } from './output-formats.js';
import { parseCustomExpression } from './expression-rules.js';
import { earthdailyMask, parseMaskClasses, sclBandInput } from './mask-rules.js';
import { neededBands, usersOf } from './needed-bands.js';
import { MAX_BANDS_JSON_BYTES, MAX_REFLECTANCE_OFFSET, MAX_URL_LENGTH, validateStripRows } from './request-limits.js';

/** The columns of a request row that describe the work (see master/db/request-store.ts). */
export interface RequestFields {
  readonly id: string;
  readonly source: string;
  readonly bands: unknown;
  readonly indices: readonly string[] | null;
  readonly reflectanceOffset: number | null;
  readonly stripRows: number | null;
  /** Null or absent: the column default, png only. */
  readonly formats?: readonly (string | null)[] | null;
  readonly url?: string | null;
  readonly ulLat?: number | null;
  readonly ulLng?: number | null;
  readonly lrLat?: number | null;
  readonly lrLng?: number | null;
  readonly resolution?: number | null;
  /** Band math over the STAC band names; its output is `expr`. */
  readonly expression?: string | null;
  /** [lo, hi]: the expression's values mapped onto codes 1…255 (null: [−1, 1]). */
  readonly range?: readonly (number | null)[] | null;
  /** SCL classes to mask (null: the default ones, when there is an scl band; {}: none). */
  readonly maskClasses?: readonly (number | null)[] | null;
}

/** What a row may leave to the master's configuration (strip sizes: the runner's pixel budget). */
export interface RequestDefaults {
  readonly earthdailyUrl?: string | undefined;
  readonly earthdailyBands: BandLayout;
}

const isOneOf = <T extends string>(list: readonly T[], value: string): value is T =>
  (list as readonly string[]).includes(value);

function parseSource(source: string): SourceKind {
  const value = source.trim().toLowerCase();
  if (!isOneOf(SOURCE_KINDS, value)) {
    throw new InvalidRequestError(`unknown source "${source}"; this master processes: ${SOURCE_KINDS.join(', ')}`);
  }
  return value;
}

/** The outputs: the built-in indices named, then `expr` when the request has an expression. */
function parseIndices(indices: readonly string[] | null, expression: CustomExpression | undefined): IndexName[] {
  // A text[] may hold NULLs ('{ndvi,NULL}'): they name no index.
  const list = (indices ?? []).map((name: string | null) => (name ?? '').trim().toLowerCase()).filter((name) => name !== '');
  if (list.includes(EXPRESSION_INDEX) && !expression) {
    throw new InvalidRequestError(`index "${EXPRESSION_INDEX}" is the output of a custom expression, and the request has none: set expression, e.g. (nir - swir16) / (nir + swir16)`);
  }
  const builtIn = list.filter((name) => name !== EXPRESSION_INDEX);
  if (builtIn.length === 0 && !expression) throw new InvalidRequestError(`no index requested; set indices to one or more of ${INDEX_NAMES.join(', ')}`);
  const unknown = builtIn.filter((name) => !isOneOf(INDEX_NAMES, name));
  if (unknown.length > 0) {
    throw new InvalidRequestError(`unknown index ${unknown.map((u) => `"${u}"`).join(', ')}; tessera computes ${INDEX_NAMES.join(', ')}`);
  }
  const outputs: IndexName[] = [...new Set(builtIn as IndexName[])];
  return expression ? [...outputs, EXPRESSION_INDEX] : outputs;
}

function parseBands(bands: unknown, indices: readonly IndexName[], expression: CustomExpression | undefined): { inputs: BandInput[]; scl: unknown } {
  if (typeof bands !== 'object' || bands === null || Array.isArray(bands)) {
    throw new InvalidRequestError(
      'bands must be a JSON object from band name to file, e.g. {"red": "/data/input/B04.tif", "nir": "/data/input/B08.tif"}',
    );
  }
  const given = new Map<string, unknown>(Object.entries(bands).map(([name, ref]) => [name.trim().toLowerCase(), ref]));
  for (const name of given.keys()) {
    if (!isOneOf(BAND_NAMES, name) && name !== SCL_BAND) {
      throw new InvalidRequestError(`unknown band "${name}"; use the STAC common names ${BAND_NAMES.join(', ')}`);
    }
  }
  const result: BandInput[] = [];
  for (const name of neededBands(indices, expression)) {
    const ref = given.get(name);
    if (ref === undefined || ref === null || ref === '') {
      throw new InvalidRequestError(`${usersOf(name, indices, expression)} needs band "${name}", which the request does not give; add it to bands`);
    }
    if (typeof ref !== 'string') throw new InvalidRequestError(`band "${name}" must be a file path or URL string`);
    result.push({ name, ...parseBandReference(ref) });
  }
  return { inputs: result, scl: given.get(SCL_BAND) };
}

function parseCorner(value: number | null | undefined, column: string, limit: number): number {
  if (value === null || value === undefined) {
    throw new InvalidRequestError(`${column} is missing; an earthdaily request needs ul_lat, ul_lng, lr_lat and lr_lng in WGS84 degrees`);
  }
  if (!Number.isFinite(value)) throw new InvalidRequestError(`${column} must be a finite number of WGS84 degrees, got ${String(value)}`);
  if (Math.abs(value) > limit) throw new InvalidRequestError(`${column} = ${value} is not a valid ${limit === 90 ? 'latitude' : 'longitude'} (±${limit}°)`);
  return value;
}

function parseBox(fields: RequestFields): BoundingBox {
  const box = {
    ulLat: parseCorner(fields.ulLat, 'ul_lat', 90),
    ulLng: parseCorner(fields.ulLng, 'ul_lng', 180),
    lrLat: parseCorner(fields.lrLat, 'lr_lat', 90),
    lrLng: parseCorner(fields.lrLng, 'lr_lng', 180),
  };
  if (box.ulLat <= box.lrLat || box.ulLng >= box.lrLng) {
    throw new InvalidRequestError(
      `the corners are in the wrong order: the upper-left corner (${box.ulLat}, ${box.ulLng}) must be north-west of the ` +
        `lower-right one (${box.lrLat}, ${box.lrLng}), i.e. ul_lat > lr_lat and ul_lng < lr_lng`,
    );
  }
  return box;
}

/** An earthdaily row's bands column overrides band numbers of the layout, e.g. {"swir16": "5"}. */
function layoutWith(defaults: BandLayout, bands: unknown): BandLayout {
  if (bands === null || bands === undefined) return defaults;
  if (typeof bands !== 'object' || Array.isArray(bands)) {
    throw new InvalidRequestError('for earthdaily, bands maps band names to band numbers in the mosaic, e.g. {"swir16": 5}');
  }
  const entries = Object.entries(bands);
  if (entries.length === 0) return defaults;
  try {
    return { ...defaults, ...parseBandLayout(entries.map(([name, band]) => `${name}=${String(band)}`).join(',')) };
  } catch (error) {
    throw new InvalidRequestError(`bands: ${error instanceof Error ? error.message : String(error)}; e.g. {"swir16": 5}`);
  }
}

function describeLayout(layout: BandLayout): string {
  return Object.entries(layout)
    .map(([name, band]) => `${name}=${band}`)
    .join(', ');
}

function parseEarthDaily(fields: RequestFields, base: Omit<EarthDailyJob, 'source' | 'url' | 'bbox' | 'resolution' | 'bands'>, defaults: RequestDefaults): EarthDailyJob {
  const url = fields.url?.trim() || defaults.earthdailyUrl;
  if (!url) throw new InvalidRequestError('no mosaic URL: set the url column of the request, or EARTHDAILY_MOSAIC_URL on the master');
  if (!isHttpUrl(url)) throw new InvalidRequestError('url must be an http(s) URL of a cloud-optimized GeoTIFF');
  const bbox = parseBox(fields);
  const resolution = fields.resolution;
  if (resolution === null || resolution === undefined || !Number.isFinite(resolution) || resolution <= 0) {
    throw new InvalidRequestError(`resolution must be a positive number of metres per pixel (got ${String(resolution)}), e.g. 10`);
  }
  const layout = layoutWith(defaults.earthdailyBands, fields.bands);
  const bands = neededBands(base.indices, base.expression).map((name) => {
    const band = layout[name];
    if (band === undefined) {
      throw new InvalidRequestError(
        `${usersOf(name, base.indices, base.expression)} needs a ${name} band, but the mosaic's band layout (${describeLayout(layout)}) has none; ` +
          `if the mosaic has one, name its number in the request's bands (e.g. {"${name}": 5}) or in EARTHDAILY_BANDS`,
      );
    }
    return { name, band };
  });
  earthdailyMask(base.mask);
  const { mask: _none, ...rest } = base;
  return { ...rest, source: 'earthdaily', url, bbox, resolution, bands };
}

/** The index bands, and the scl band when the mask is on and the request gives one (then the job masks). */
function parseSentinel2(fields: RequestFields, base: Omit<Sentinel2Job, 'source' | 'bands'>): Sentinel2Job {
  const { inputs, scl } = parseBands(fields.bands, base.indices, base.expression);
  const sclInput = sclBandInput(scl, base.mask);
  const { mask, ...rest } = base;
  return sclInput && mask ? { ...rest, mask, source: 'sentinel2', bands: [...inputs, sclInput] } : { ...rest, source: 'sentinel2', bands: inputs };
}

function parseStac(fields: RequestFields, base: Omit<StacJob, 'source' | 'url' | 'bandNames'>): StacJob {
  const url = fields.url?.trim();
  if (!url) throw new InvalidRequestError('a stac request needs url: the URL of a STAC item (or a path to its JSON)');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !/^(https?|file):\/\//i.test(url)) {
    throw new InvalidRequestError(`url "${url.replace(/\?.*$/, '')}" is neither an http(s) URL nor a path: give the STAC item's http(s) URL or a local path to its JSON`);
  }
  const bands = fields.bands;
  if (bands !== null && bands !== undefined && (typeof bands !== 'object' || Array.isArray(bands) || Object.keys(bands).length > 0)) {
    throw new InvalidRequestError('for stac, the bands come from the item\'s assets: leave bands empty ({}) and name the item in url');
  }
  return { ...base, source: 'stac', url, bandNames: neededBands(base.indices, base.expression) };
}

function parseReflectanceOffset(value: number | null): number {
  const offset = value ?? 0;
  if (!Number.isFinite(offset)) throw new InvalidRequestError(`reflectance_offset must be a finite number (e.g. 0 or -1000), got ${String(offset)}`);
  if (Math.abs(offset) > MAX_REFLECTANCE_OFFSET) {
    throw new InvalidRequestError(
      `reflectance_offset = ${offset} is not a plausible offset: it is added to every digital number (reflectance × 10000), ` +
        `so it must lie from -${MAX_REFLECTANCE_OFFSET} to ${MAX_REFLECTANCE_OFFSET} (Sentinel-2 L2A since baseline 04.00: -1000; otherwise 0)`,
    );
  }
  return offset;
}

export function parseRequest(fields: RequestFields, defaults: RequestDefaults): MosaicJob {
  const bandsJson = JSON.stringify(fields.bands ?? null) ?? '';
  if (bandsJson.length > MAX_BANDS_JSON_BYTES) {
    throw new InvalidRequestError(`bands holds ${bandsJson.length} bytes of JSON; at most ${MAX_BANDS_JSON_BYTES} are read (one path or URL per band)`);
  }
  if ((fields.url?.length ?? 0) > MAX_URL_LENGTH) throw new InvalidRequestError(`url is ${fields.url?.length} characters long; at most ${MAX_URL_LENGTH} are read`);
  if ((fields.indices?.length ?? 0) > 16) throw new InvalidRequestError(`${fields.indices?.length} indices requested; tessera computes ${INDEX_NAMES.join(', ')}`);
  const source = parseSource(fields.source);
  const expression = parseCustomExpression(fields.expression, fields.range);
  const indices = parseIndices(fields.indices, expression);
  const reflectanceOffset = parseReflectanceOffset(fields.reflectanceOffset);
  const stripRows = fields.stripRows ?? undefined;
  if (stripRows !== undefined) validateStripRows(stripRows);
  const formats = parseFormats(fields.formats);
  const mask: SclMask | undefined = parseMaskClasses(fields.maskClasses);
  const base = { id: fields.id, indices, ...(expression ? { expression } : {}), ...(mask ? { mask } : {}), reflectanceOffset, stripRows, formats };
  if (source === 'earthdaily') return parseEarthDaily(fields, base, defaults);
  if (source === 'stac') return parseStac(fields, { ...base, offsetGiven: fields.reflectanceOffset !== null });
  return parseSentinel2(fields, base);
}
