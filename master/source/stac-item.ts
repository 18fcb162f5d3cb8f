/**
 * A STAC item as a request's input: which asset holds each band, where it is, and which reflectance
 * offset its digital numbers carry.
 *
 * Bands are found by, in order: the Earth Search asset key (the STAC common name itself: `red`,
 * `nir`, `scl`, …), the Planetary Computer key (`B04`, `B08`, `SCL`, …), then any asset whose
 * `eo:bands` names the common name. Relative hrefs are resolved against the item's own location.
 *
 * The offset (added to every DN before an index is computed), first rule that applies:
 *  1. the request's own `reflectance_offset`;
 *  2. `earthsearch:boa_offset_applied: true`: the catalogue already removed it → 0;
 *  3. the assets' `raster:bands` offset and scale (reflectance = DN · scale + offset) → offset / scale;
 *  4. `s2:processing_baseline` ≥ 04.00 → −1000 (BOA_ADD_OFFSET since 25 January 2022);
 *  5. otherwise 0.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { InvalidRequestError } from '../../shared/errors.js';
import { MAX_REFLECTANCE_OFFSET } from '../../shared/request/request-limits.js';
import { isHttpUrl, withoutQuery } from '../../shared/urls.js';

/** Band names a STAC item may be asked for (STAC common names, and `scl` for the scene classification). */
export const STAC_BAND_KEYS = {
  blue: 'B02',
  green: 'B03',
  red: 'B04',
  nir: 'B08',
  swir16: 'B11',
  swir22: 'B12',
  scl: 'SCL',
} as const;
export type StacBandName = keyof typeof STAC_BAND_KEYS;

/** The baseline from which Sentinel-2 L2A digital numbers carry BOA_ADD_OFFSET = −1000. */
const OFFSET_BASELINE = [4, 0] as const;
const BOA_ADD_OFFSET = -1000;

/** Where an offset came from, for the manifest. */
export type OffsetSource = 'request' | 'boa-offset-applied' | 'raster:bands' | 'processing-baseline' | 'none';

export interface ResolvedOffset {
  readonly value: number;
  readonly source: OffsetSource;
  /** In words, for the manifest and logs. */
  readonly reason: string;
}

/** What the manifest records of the item. */
export interface StacItemSummary {
  readonly id: string;
  readonly datetime: string | null;
  readonly platform: string | null;
  readonly processingBaseline: string | null;
}

export interface StacAsset {
  readonly key: string;
  /** Absolute: a path, or an http(s) URL (a signed query kept). */
  readonly href: string;
  readonly offset?: number;
  readonly scale?: number;
}

/** An item checked to have what tessera reads: an id, properties and assets with hrefs. */
export interface StacItem {
  readonly summary: StacItemSummary;
  readonly properties: Readonly<Record<string, unknown>>;
  readonly assets: ReadonlyMap<string, { readonly href: string; readonly json: Readonly<Record<string, unknown>> }>;
  /** Where the item was read from (path or URL), relative hrefs are resolved against it. */
  readonly location: string;
}

/** Checks that `json` (read from `location`) is a STAC item, naming what it is otherwise. */
export function parseStacItem(json: unknown, location: string): StacItem {
  const shown = withoutQuery(location);
  if (!isRecord(json)) throw new InvalidRequestError(`"${shown}" is not a STAC item: it holds ${describeJson(json)}, not a JSON object`);
  if (json.type !== 'Feature') {
    const what = json.type === 'FeatureCollection' ? 'an item collection (search results)' : json.type === 'Collection' ? 'a STAC collection' : `a JSON object of type ${JSON.stringify(json.type ?? null)}`;
    throw new InvalidRequestError(`"${shown}" is not a STAC item (type "Feature"): it is ${what}; give the URL of one item`);
  }
  if (typeof json.id !== 'string' || json.id === '') throw new InvalidRequestError(`"${shown}" is not a STAC item: it has no "id"`);
  if (!isRecord(json.assets)) throw new InvalidRequestError(`STAC item "${json.id}" has no "assets", so there are no band files to read`);
  const properties = isRecord(json.properties) ? json.properties : {};
  const assets = new Map<string, { href: string; json: Record<string, unknown> }>();
  for (const [key, asset] of Object.entries(json.assets)) {
    if (isRecord(asset) && typeof asset.href === 'string' && asset.href !== '') assets.set(key, { href: resolveHref(asset.href, location), json: asset });
  }
  const text = (value: unknown): string | null => (typeof value === 'string' ? value : typeof value === 'number' ? String(value) : null);
  return {
    summary: {
      id: json.id,
      datetime: text(properties.datetime),
      platform: text(properties.platform),
      processingBaseline: text(properties['s2:processing_baseline']),
    },
    properties,
    assets,
    location,
  };
}

/** The asset of each band asked for; a band the item lacks is an error listing what it has. */
export function resolveStacBands<B extends StacBandName>(item: StacItem, bands: readonly B[]): Map<B, StacAsset> {
  const found = new Map<B, StacAsset>();
  for (const band of bands) {
    const key = assetKeyFor(item, band);
    const asset = key === undefined ? undefined : item.assets.get(key);
    if (key === undefined || asset === undefined) {
      throw new InvalidRequestError(
        `STAC item "${item.summary.id}" has no asset for ${band} (looked for the keys "${band}" and "${STAC_BAND_KEYS[band]}" and an eo:bands common name "${band}"); ` +
          `its assets: ${[...item.assets.keys()].join(', ') || 'none with an href'}`,
      );
    }
    found.set(band, { key, href: asset.href, ...rasterScaling(asset.json) });
  }
  return found;
}

/** Whether the item has an asset for `band` (by the same keys resolveStacBands looks for). */
export function hasStacBand(item: StacItem, band: StacBandName): boolean {
  const key = assetKeyFor(item, band);
  return key !== undefined && item.assets.has(key);
}

/** The offset the bands' DNs carry, by the rules at the top of this file. */
export function resolveOffset(item: StacItem, assets: readonly StacAsset[], explicit: number | undefined): ResolvedOffset {
  if (explicit !== undefined) return { value: explicit, source: 'request', reason: 'reflectance_offset given in the request' };
  if (item.properties['earthsearch:boa_offset_applied'] === true) {
    return { value: 0, source: 'boa-offset-applied', reason: 'the item says earthsearch:boa_offset_applied: true (the catalogue removed the offset)' };
  }
  const scaled = assets.filter((asset) => asset.offset !== undefined && asset.offset !== 0);
  const dnOffset = (asset: StacAsset): number => Math.round((asset.offset ?? 0) / (asset.scale ?? 1));
  const [first] = scaled;
  if (first !== undefined) {
    if (scaled.some((asset) => dnOffset(asset) !== dnOffset(first))) {
      throw new InvalidRequestError(
        `STAC item "${item.summary.id}": its assets advertise different offsets (${scaled.map((a) => `${a.key}: offset ${a.offset}, scale ${a.scale ?? 1}`).join('; ')}); set reflectance_offset in the request`,
      );
    }
    const value = dnOffset(first);
    if (Math.abs(value) > MAX_REFLECTANCE_OFFSET) {
      throw new InvalidRequestError(
        `STAC item "${item.summary.id}": its raster:bands offset ${first.offset} with scale ${first.scale ?? 1} means ${value} per digital number, ` +
          `beyond the ±${MAX_REFLECTANCE_OFFSET} an offset may be; set reflectance_offset in the request`,
      );
    }
    return { value, source: 'raster:bands', reason: `the assets' raster:bands offset ${first.offset} with scale ${first.scale ?? 1}` };
  }
  const baseline = item.summary.processingBaseline;
  if (baseline !== null && atLeastBaseline(baseline)) {
    return { value: BOA_ADD_OFFSET, source: 'processing-baseline', reason: `s2:processing_baseline ${baseline} ≥ 04.00: DNs carry BOA_ADD_OFFSET −1000` };
  }
  return { value: 0, source: 'none', reason: baseline === null ? 'no processing baseline or offset in the item' : `s2:processing_baseline ${baseline} < 04.00: no offset` };
}

function assetKeyFor(item: StacItem, band: StacBandName): string | undefined {
  if (item.assets.has(band)) return band;
  if (item.assets.has(STAC_BAND_KEYS[band])) return STAC_BAND_KEYS[band];
  for (const [key, asset] of item.assets) {
    const bands = asset.json['eo:bands'];
    if (Array.isArray(bands) && bands.some((entry) => isRecord(entry) && entry.common_name === band)) return key;
  }
  return undefined;
}

/** An asset's first raster:bands offset and scale, when it has them as numbers. */
function rasterScaling(asset: Readonly<Record<string, unknown>>): { offset?: number; scale?: number } {
  const bands = asset['raster:bands'];
  const first: unknown = Array.isArray(bands) ? bands[0] : undefined;
  if (!isRecord(first)) return {};
  const number = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
  const offset = number(first.offset);
  const scale = number(first.scale);
  return { ...(offset !== undefined ? { offset } : {}), ...(scale !== undefined && scale !== 0 ? { scale } : {}) };
}

/** "04.00", "4.0", "05.09" → compared with 04.00 as numbers, part by part. */
function atLeastBaseline(baseline: string): boolean {
  const parts = baseline.split('.').map(Number);
  const major = parts[0] ?? NaN;
  const minor = parts[1] ?? 0;
  if (!Number.isFinite(major) || !Number.isFinite(minor)) return false;
  return major > OFFSET_BASELINE[0] || (major === OFFSET_BASELINE[0] && minor >= OFFSET_BASELINE[1]);
}

/** An href against the item's location: URLs stay, relative paths and URLs are resolved. */
export function resolveHref(href: string, location: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(href)) return href;
  if (isHttpUrl(location)) return new URL(href, location).toString();
  return isAbsolute(href) ? href : resolve(dirname(location), href);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeJson(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  return value === null ? 'null' : `a ${typeof value}`;
}
