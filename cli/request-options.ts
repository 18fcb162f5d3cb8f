/**
 * The request options `submit` and `run` share: `--source sentinel2|earthdaily|stac --band NAME=PATH[#N] …
 * --index ndvi,ndsi [--formats png,cog] [--reflectance-offset -1000] [--strip-rows N]`, parsed into a new request row.
 * This module reads the flags; what a request may hold is the request rules' (shared/request),
 * applied before anything is inserted, so a bad request is a usage error in the master's words.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { UsageError } from './usage-error.js';
import { INDEX_NAMES } from '../shared/types.js';
import { isAbsolute, resolve } from 'node:path';
import type { NewMosaicRequest } from '../master/db/request-store.js';
import { InvalidRequestError } from '../shared/errors.js';
import { checkNewRequest, clientRequestDefaults, type ClientRequestDefaults } from '../shared/request/check-request.js';
import { validateStripRows } from '../shared/request/request-limits.js';

export interface RequestCliOptions {
  readonly source: string;
  readonly band: readonly string[];
  readonly index?: string;
  readonly formats?: string;
  readonly expression?: string;
  readonly range?: readonly [number, number];
  /** --mask-classes 3,8,9: the SCL classes to mask. */
  readonly maskClasses?: readonly number[];
  /** false: --no-mask (mask_classes {}). */
  readonly mask?: boolean;
  readonly reflectanceOffset?: number;
  readonly stripRows?: number;
  readonly url?: string;
  readonly ul?: LatLng;
  readonly lr?: LatLng;
  readonly resolution?: number;
}

export interface LatLng {
  readonly lat: number;
  readonly lng: number;
}

/** "LAT,LNG" in WGS84 degrees; pass it as --ul=LAT,LNG so a negative number is not taken for an option. */
export function parseLatLng(name: string) {
  return (value: string): LatLng => {
    const parts = value.split(',').map((part) => part.trim());
    const [lat, lng] = parts.map(Number);
    if (parts.length !== 2 || lat === undefined || lng === undefined || !Number.isFinite(lat) || !Number.isFinite(lng)) {
      throw new InvalidArgumentError(`${name} must be LAT,LNG in degrees, e.g. ${name}=46.52,6.55 (use the = form for negative numbers)`);
    }
    return { lat, lng };
  };
}

const collect = (value: string, previous: readonly string[]): string[] => [...previous, value];

function number(name: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (value.trim() === '' || !Number.isFinite(parsed)) throw new InvalidArgumentError(`${name} must be a number`);
    return parsed;
  };
}

/** --range LO,HI: two numbers (whether they make a range is the request rules' to say). */
function valueRange(value: string): [number, number] {
  const parts = value.split(',').map((part) => part.trim());
  const [lo, hi] = parts.map(Number);
  if (parts.length !== 2 || parts.includes('') || lo === undefined || hi === undefined || Number.isNaN(lo) || Number.isNaN(hi)) {
    throw new InvalidArgumentError('--range must be LO,HI, e.g. --range=-1,1 (use the = form for a negative LO)');
  }
  return [lo, hi];
}

/** --mask-classes 0,1,3: numbers (which ones are SCL classes is the request rules' to say). */
function classList(value: string): number[] {
  const parts = value.split(',').map((part) => part.trim());
  const classes = parts.map(Number);
  if (parts.includes('') || classes.some((n) => Number.isNaN(n))) {
    throw new InvalidArgumentError('--mask-classes must be SCL class numbers separated by commas, e.g. 0,1,3,8,9,10 (--no-mask for none)');
  }
  return classes;
}

/** --strip-rows: the master's own rule (validateStripRows), answered at once. */
function stripRows(value: string): number {
  const parsed = number('--strip-rows')(value);
  try {
    validateStripRows(parsed);
  } catch (error) {
    throw new InvalidArgumentError(`--strip-rows: ${error instanceof Error ? error.message : String(error)}`);
  }
  return parsed;
}

export function addRequestOptions(command: Command): Command {
  return command
    .option('--source <kind>', 'input kind', 'sentinel2')
    .option(
      '--band <name=path[#n]>',
      'a band: STAC name (red, nir, green, swir16, swir22, blue; scl for the cloud mask) = GeoTIFF path or http(s) URL, #n picks band n of a multi-band file; repeat per band',
      collect,
      [],
    )
    .option('--index <list>', 'indices to compute, comma-separated: ndvi, ndsi, ndwi, ndmi, nbr, savi, evi (with --expression: none unless given)', 'ndvi')
    .option('--expression <math>', 'custom band math over red, nir, green, blue, swir16, swir22, output "expr", e.g. "(nir - swir16) / (nir + swir16)"')
    .option('--range <lo,hi>', 'with --expression: the values mapped onto codes 1..255 (default -1,1; write --range=LO,HI)', valueRange)
    .option('--formats <list>', 'files per index, comma-separated: png (grey and colour PNGs), cog (a Cloud-Optimized GeoTIFF); default png')
    .option('--reflectance-offset <dn>', 'added to DNs before /10000 (Sentinel-2 baseline ≥ 04.00: -1000; default 0, for stac what the item says)', number('--reflectance-offset'))
    .option('--strip-rows <n>', 'rows per tile (a full-width strip; default: about STRIP_PIXELS pixels per strip)', stripRows)
    .option('--url <url>', 'earthdaily: the mosaic URL (default: the master\'s EARTHDAILY_MOSAIC_URL); stac: the item\'s URL or path')
    .option('--ul <lat,lng>', 'earthdaily: upper-left corner, WGS84 degrees (write --ul=LAT,LNG)', parseLatLng('--ul'))
    .option('--lr <lat,lng>', 'earthdaily: lower-right corner, WGS84 degrees (write --lr=LAT,LNG)', parseLatLng('--lr'))
    .option('--resolution <m>', 'earthdaily: output pixel size in metres', number('--resolution'))
    .option('--mask-classes <list>', 'SCL classes masked to no-data when there is an scl band (default 0,1,3,8,9,10; 11 snow kept)', classList)
    .option('--no-mask', 'no SCL cloud masking (the scl band is not read)')
    .on('option:expression', function (this: Command) {
      // --expression alone computes only the expression: --index's default (ndvi) no longer applies.
      if (this.getOptionValueSource('index') === 'default') this.setOptionValueWithSource('index', undefined, 'default');
    });
}

/** A local relative path becomes absolute (the master may run elsewhere); URLs stay as they are. */
function absoluteReference(reference: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(reference) || isAbsolute(reference)) return reference;
  return resolve(reference);
}

/** --band NAME=VALUE pairs, names lower-cased; blank names or values and repeats are errors. */
function bandPairs(specs: readonly string[]): [string, string][] {
  const seen = new Set<string>();
  return specs.map((spec) => {
    const at = spec.indexOf('=');
    const name = at < 0 ? '' : spec.slice(0, at).trim().toLowerCase();
    const value = at < 0 ? '' : spec.slice(at + 1).trim();
    if (name === '' || value === '') throw new UsageError(`--band ${spec}: expected NAME=PATH, e.g. red=B04.tif or nir=scene.tif#4`);
    if (seen.has(name)) throw new UsageError(`--band ${name} is given twice`);
    seen.add(name);
    return [name, value];
  });
}

/**
 * --index a,b: the names (which ones tessera knows is the request rules' to say). Left out: ndvi,
 * or, with --expression, only the expression's output.
 */
function indexList(index: string | undefined, expression: string | undefined): string[] {
  if (index === undefined) return expression === undefined ? ['ndvi'] : [];
  const names = index.split(',').map((name) => name.trim().toLowerCase()).filter((name) => name !== '');
  if (names.length === 0 && expression === undefined) throw new UsageError(`--index needs one or more of ${INDEX_NAMES.join(', ')}`);
  return names;
}

/** The columns every source shares: what to compute, and how. */
function computationFields(options: RequestCliOptions): Pick<NewMosaicRequest, 'indices' | 'reflectanceOffset' | 'stripRows' | 'expression' | 'range' | 'maskClasses'> {
  if (options.mask === false && options.maskClasses !== undefined) throw new UsageError('--no-mask and --mask-classes contradict each other: give one of them');
  const maskClasses = options.mask === false ? [] : options.maskClasses;
  return {
    indices: indexList(options.index, options.expression),
    reflectanceOffset: options.reflectanceOffset ?? null,
    stripRows: options.stripRows ?? null,
    ...(options.expression === undefined ? {} : { expression: options.expression }),
    ...(options.range === undefined ? {} : { range: [...options.range] }),
    ...(maskClasses === undefined ? {} : { maskClasses: [...maskClasses] }),
  };
}

function earthdailyRequest(options: RequestCliOptions): NewMosaicRequest {
  if (!options.ul || !options.lr) throw new UsageError('--source earthdaily needs both corners: --ul=LAT,LNG --lr=LAT,LNG');
  if (options.resolution === undefined) throw new UsageError('--source earthdaily needs --resolution METRES, e.g. --resolution 10');
  // For a mosaic, --band NAME=N overrides the band number of NAME in the layout (EARTHDAILY_BANDS).
  const bands = Object.fromEntries(bandPairs(options.band));
  return {
    source: 'earthdaily',
    bands,
    url: options.url ?? null,
    ulLat: options.ul.lat,
    ulLng: options.ul.lng,
    lrLat: options.lr.lat,
    lrLng: options.lr.lng,
    resolution: options.resolution,
    ...computationFields(options),
  };
}

function stacRequest(options: RequestCliOptions): NewMosaicRequest {
  if (!options.url) throw new UsageError('--source stac needs --url: the STAC item\'s URL, or a path to its JSON');
  if (options.band.length > 0) throw new UsageError('--source stac takes its bands from the item\'s assets: drop --band');
  return {
    source: 'stac',
    bands: {},
    url: absoluteReference(options.url),
    ...computationFields(options),
  };
}

function sentinel2Request(options: RequestCliOptions): NewMosaicRequest {
  if (options.band.length === 0) {
    throw new UsageError('give at least one --band NAME=PATH, e.g. --band red=B04.tif --band nir=B08.tif');
  }
  const bands = Object.fromEntries(bandPairs(options.band).map(([name, path]) => [name, absoluteReference(path)]));
  return {
    source: options.source,
    bands,
    ...computationFields(options),
  };
}

/**
 * The request row the flags describe, checked by the request rules (against `defaults`, e.g.
 * clientRequestDefaults(process.env)); a request the master would refuse is a UsageError saying why.
 */
export function requestFromOptions(options: RequestCliOptions, defaults: ClientRequestDefaults = clientRequestDefaults({})): NewMosaicRequest {
  const source = options.source.trim().toLowerCase();
  const described = source === 'earthdaily' ? earthdailyRequest(options) : source === 'stac' ? stacRequest(options) : sentinel2Request(options);
  // --formats a,b: the names as given (which ones tessera writes is the request rules' to say).
  const request = options.formats === undefined ? described : { ...described, formats: options.formats.split(',') };
  try {
    checkNewRequest(request, defaults);
  } catch (error) {
    if (error instanceof InvalidRequestError) throw new UsageError(error.message);
    throw error;
  }
  return request;
}
