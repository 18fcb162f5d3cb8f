/**
 * The request options `submit` and `run` share: `--source sentinel2 --band NAME=PATH[#N] …
 * --index ndvi,ndsi [--reflectance-offset -1000] [--strip-rows N]`, parsed into a new request row.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { UsageError } from './usage-error.js';
import { LAYOUT_BAND_NAMES } from '../shared/config/env.js';
import { BAND_NAMES, INDEX_NAMES } from '../shared/types.js';
import { isAbsolute, resolve } from 'node:path';
import type { NewMosaicRequest } from '../master/db/request-store.js';
import { validateStripRows } from '../master/source/strip-plan.js';

export interface RequestCliOptions {
  readonly source: string;
  readonly band: readonly string[];
  readonly index: string;
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
      'a band: STAC name (red, nir, green, swir16) = GeoTIFF path or http(s) URL, #n picks band n of a multi-band file; repeat per band',
      collect,
      [],
    )
    .option('--index <list>', 'indices to compute, comma-separated: ndvi, ndsi', 'ndvi')
    .option('--reflectance-offset <dn>', 'added to DNs before /10000 (Sentinel-2 baseline ≥ 04.00: -1000)', number('--reflectance-offset'))
    .option('--strip-rows <n>', 'rows per tile (a full-width strip; default: about STRIP_PIXELS pixels per strip)', stripRows)
    .option('--url <url>', 'earthdaily: the mosaic URL (default: the master\'s EARTHDAILY_MOSAIC_URL)')
    .option('--ul <lat,lng>', 'earthdaily: upper-left corner, WGS84 degrees (write --ul=LAT,LNG)', parseLatLng('--ul'))
    .option('--lr <lat,lng>', 'earthdaily: lower-right corner, WGS84 degrees (write --lr=LAT,LNG)', parseLatLng('--lr'))
    .option('--resolution <m>', 'earthdaily: output pixel size in metres', number('--resolution'));
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

/** --index a,b: known index names only (the master checks again; this answers at once). */
function indexList(index: string): string[] {
  const names = index.split(',').map((name) => name.trim().toLowerCase()).filter((name) => name !== '');
  if (names.length === 0) throw new UsageError(`--index needs one or more of ${INDEX_NAMES.join(', ')}`);
  const unknown = names.filter((name) => !(INDEX_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) throw new UsageError(`unknown index ${unknown.map((n) => `"${n}"`).join(', ')}; tessera computes ${INDEX_NAMES.join(', ')}`);
  return names;
}

function checkBandNames(names: readonly string[], allowed: readonly string[]): void {
  const unknown = names.filter((name) => !allowed.includes(name));
  if (unknown.length > 0) throw new UsageError(`unknown band ${unknown.map((n) => `"${n}"`).join(', ')}; use the STAC names ${allowed.join(', ')}`);
}

function earthdailyRequest(options: RequestCliOptions): NewMosaicRequest {
  if (!options.ul || !options.lr) throw new UsageError('--source earthdaily needs both corners: --ul=LAT,LNG --lr=LAT,LNG');
  if (options.resolution === undefined) throw new UsageError('--source earthdaily needs --resolution METRES, e.g. --resolution 10');
  // For a mosaic, --band NAME=N overrides the band number of NAME in the layout (EARTHDAILY_BANDS).
  const pairs = bandPairs(options.band);
  checkBandNames(pairs.map(([name]) => name), LAYOUT_BAND_NAMES);
  const bands = Object.fromEntries(pairs);
  return {
    source: 'earthdaily',
    bands,
    indices: indexList(options.index),
    url: options.url ?? null,
    ulLat: options.ul.lat,
    ulLng: options.ul.lng,
    lrLat: options.lr.lat,
    lrLng: options.lr.lng,
    resolution: options.resolution,
    reflectanceOffset: options.reflectanceOffset ?? 0,
    stripRows: options.stripRows ?? null,
  };
}

export function requestFromOptions(options: RequestCliOptions): NewMosaicRequest {
  if (options.source.trim().toLowerCase() === 'earthdaily') return earthdailyRequest(options);
  if (options.band.length === 0) {
    throw new UsageError('give at least one --band NAME=PATH, e.g. --band red=B04.tif --band nir=B08.tif');
  }
  const pairs = bandPairs(options.band);
  checkBandNames(pairs.map(([name]) => name), BAND_NAMES);
  const bands = Object.fromEntries(pairs.map(([name, path]) => [name, absoluteReference(path)]));
  return {
    source: options.source,
    bands,
    indices: indexList(options.index),
    reflectanceOffset: options.reflectanceOffset ?? 0,
    stripRows: options.stripRows ?? null,
  };
}
