/**
 * The request options `submit` and `run` share: `--source sentinel2 --band NAME=PATH[#N] …
 * --index ndvi,ndsi [--reflectance-offset -1000] [--tile-size 1024]`, parsed into a new request row.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { isAbsolute, resolve } from 'node:path';
import type { NewMosaicRequest } from '../master/db/request-store.js';

export interface RequestCliOptions {
  readonly source: string;
  readonly band: readonly string[];
  readonly index: string;
  readonly reflectanceOffset?: number;
  readonly tileSize?: number;
}

const collect = (value: string, previous: readonly string[]): string[] => [...previous, value];

function number(name: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (value.trim() === '' || !Number.isFinite(parsed)) throw new InvalidArgumentError(`${name} must be a number`);
    return parsed;
  };
}

function wholeNumber(name: string) {
  return (value: string): number => {
    const parsed = number(name)(value);
    if (!Number.isInteger(parsed) || parsed <= 0) throw new InvalidArgumentError(`${name} must be a positive whole number`);
    return parsed;
  };
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
    .option('--tile-size <px>', 'tile size in pixels (default: the master\'s TILE_SIZE)', wholeNumber('--tile-size'));
}

/** A local relative path becomes absolute (the master may run elsewhere); URLs stay as they are. */
function absoluteReference(reference: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(reference) || isAbsolute(reference)) return reference;
  return resolve(reference);
}

export function requestFromOptions(options: RequestCliOptions): NewMosaicRequest {
  if (options.band.length === 0) {
    throw new InvalidArgumentError('give at least one --band NAME=PATH, e.g. --band red=B04.tif --band nir=B08.tif');
  }
  const bands: Record<string, string> = {};
  for (const spec of options.band) {
    const at = spec.indexOf('=');
    const name = at < 0 ? '' : spec.slice(0, at).trim().toLowerCase();
    const path = at < 0 ? '' : spec.slice(at + 1).trim();
    if (name === '' || path === '') throw new InvalidArgumentError(`--band ${spec}: expected NAME=PATH, e.g. red=B04.tif or nir=scene.tif#4`);
    if (bands[name] !== undefined) throw new InvalidArgumentError(`--band ${name} is given twice`);
    bands[name] = absoluteReference(path);
  }
  return {
    source: options.source,
    bands,
    indices: options.index.split(',').map((name) => name.trim()).filter((name) => name !== ''),
    reflectanceOffset: options.reflectanceOffset ?? 0,
    tileSize: options.tileSize ?? null,
  };
}
