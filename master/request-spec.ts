/**
 * Turns a mosaic_requests row (typed in by a person, so anything may be in it) into a validated
 * MosaicJob, or an InvalidRequestError whose message tells the user what to change.
 */
import { InvalidRequestError } from '../shared/errors.js';
import {
  BAND_NAMES,
  INDEX_BANDS,
  INDEX_NAMES,
  SOURCE_KINDS,
  type BandInput,
  type BandName,
  type IndexName,
  type MosaicJob,
  type SourceKind,
} from '../shared/types.js';
import { parseBandReference } from './source/band-source.js';

/** The columns of a request row that describe the work (see master/db/request-store.ts). */
export interface RequestFields {
  readonly id: string;
  readonly source: string;
  readonly bands: unknown;
  readonly indices: readonly string[] | null;
  readonly reflectanceOffset: number | null;
  readonly tileSize: number | null;
}

const MIN_TILE_SIZE = 16;
const MAX_TILE_SIZE = 8192;

const isOneOf = <T extends string>(list: readonly T[], value: string): value is T =>
  (list as readonly string[]).includes(value);

function parseSource(source: string): SourceKind {
  const value = source.trim().toLowerCase();
  if (!isOneOf(SOURCE_KINDS, value)) {
    throw new InvalidRequestError(`unknown source "${source}"; this master processes: ${SOURCE_KINDS.join(', ')}`);
  }
  return value;
}

function parseIndices(indices: readonly string[] | null): IndexName[] {
  const list = (indices ?? []).map((name) => name.trim().toLowerCase()).filter((name) => name !== '');
  if (list.length === 0) throw new InvalidRequestError(`no index requested; set indices to one or more of ${INDEX_NAMES.join(', ')}`);
  const unknown = list.filter((name) => !isOneOf(INDEX_NAMES, name));
  if (unknown.length > 0) {
    throw new InvalidRequestError(`unknown index ${unknown.map((u) => `"${u}"`).join(', ')}; tessera computes ${INDEX_NAMES.join(', ')}`);
  }
  return [...new Set(list as IndexName[])];
}

function parseBands(bands: unknown, indices: readonly IndexName[]): BandInput[] {
  if (typeof bands !== 'object' || bands === null || Array.isArray(bands)) {
    throw new InvalidRequestError(
      'bands must be a JSON object from band name to file, e.g. {"red": "/data/input/B04.tif", "nir": "/data/input/B08.tif"}',
    );
  }
  const given = new Map<string, unknown>(Object.entries(bands).map(([name, ref]) => [name.trim().toLowerCase(), ref]));
  for (const name of given.keys()) {
    if (!isOneOf(BAND_NAMES, name)) {
      throw new InvalidRequestError(`unknown band "${name}"; use the STAC common names ${BAND_NAMES.join(', ')}`);
    }
  }
  const needed = new Set<BandName>(indices.flatMap((index) => INDEX_BANDS[index]));
  const result: BandInput[] = [];
  for (const name of BAND_NAMES) {
    if (!needed.has(name)) continue;
    const ref = given.get(name);
    if (ref === undefined || ref === null || ref === '') {
      const users = indices.filter((index) => INDEX_BANDS[index].includes(name));
      throw new InvalidRequestError(`${users.join(' and ')} needs band "${name}", which the request does not give; add it to bands`);
    }
    if (typeof ref !== 'string') throw new InvalidRequestError(`band "${name}" must be a file path or URL string`);
    result.push({ name, ...parseBandReference(ref) });
  }
  return result;
}

export function parseRequest(fields: RequestFields, defaultTileSize: number): MosaicJob {
  const indices = parseIndices(fields.indices);
  const reflectanceOffset = fields.reflectanceOffset ?? 0;
  if (!Number.isFinite(reflectanceOffset)) throw new InvalidRequestError('reflectance_offset must be a finite number (e.g. 0 or -1000)');
  const tileSize = fields.tileSize ?? defaultTileSize;
  if (!Number.isInteger(tileSize) || tileSize < MIN_TILE_SIZE || tileSize > MAX_TILE_SIZE) {
    throw new InvalidRequestError(`tile_size must be a whole number of pixels from ${MIN_TILE_SIZE} to ${MAX_TILE_SIZE} (got ${tileSize})`);
  }
  return {
    id: fields.id,
    source: parseSource(fields.source),
    bands: parseBands(fields.bands, indices),
    indices,
    reflectanceOffset,
    tileSize,
  };
}
