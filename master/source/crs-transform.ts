/**
 * WGS84 longitude/latitude to and from the CRSs EarthDaily mosaics come in (EPSG:4326, EPSG:3857
 * and the WGS 84 UTM zones EPSG:326xx / 327xx), with proj4; and a lat/lng box's envelope in such a
 * CRS, densified along its edges because lines of latitude and longitude curve in UTM. Other EPSG
 * codes fail with a message naming the supported ones. proj4 definitions are passed as strings to
 * each converter, never registered globally.
 */
import proj4 from 'proj4';
import { InvalidRequestError } from '../../shared/errors.js';
import type { BoundingBox } from '../../shared/types.js';

/** A point: x = easting or longitude, y = northing or latitude. */
export type XY = readonly [x: number, y: number];

/** WGS84 ↔ one projected or geographic CRS. */
export interface CrsTransform {
  readonly epsg: number;
  readonly name: string;
  /** Units of the CRS's coordinates. */
  readonly units: 'metre' | 'degree';
  /** The latitudes the CRS can show (Web Mercator stops at ±85.0511°). */
  readonly maxLatitude: number;
  /** [longitude, latitude] → [x, y] in the CRS (non-finite where the CRS cannot show the point). */
  forward(lngLat: XY): [number, number];
  /** [x, y] in the CRS → [longitude, latitude]. */
  inverse(xy: XY): [number, number];
}

/** An axis-aligned rectangle in CRS coordinates. */
export interface Envelope {
  readonly minX: number;
  readonly minY: number;
  readonly maxX: number;
  readonly maxY: number;
}

/** A rectangle of WGS84 degrees. */
export interface LngLatBounds {
  readonly west: number;
  readonly south: number;
  readonly east: number;
  readonly north: number;
}

const WGS84 = '+proj=longlat +datum=WGS84 +no_defs';
/** Web Mercator's latitude limit: the square world of ±20037508.34 m. */
export const WEB_MERCATOR_MAX_LATITUDE = 85.0511287798066;
/** Points per box edge in densified envelopes. */
export const EDGE_POINTS = 16;

export const SUPPORTED_CRS_TEXT = 'EPSG:4326 (WGS 84), EPSG:3857 (Web Mercator) and WGS 84 / UTM (EPSG:32601–32660 north, 32701–32760 south)';

/** The proj4 definition and name of a supported EPSG code; undefined for others. */
export function proj4Definition(epsg: number): { definition: string; name: string; units: 'metre' | 'degree' } | undefined {
  if (epsg === 4326) return { definition: WGS84, name: 'WGS 84', units: 'degree' };
  if (epsg === 3857) {
    return {
      definition: '+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +nadgrids=@null +wktext +no_defs',
      name: 'WGS 84 / Pseudo-Mercator',
      units: 'metre',
    };
  }
  const series = Math.floor(epsg / 100);
  const zone = epsg % 100;
  if ((series === 326 || series === 327) && zone >= 1 && zone <= 60) {
    const south = series === 327;
    return {
      definition: `+proj=utm +zone=${zone}${south ? ' +south' : ''} +datum=WGS84 +units=m +no_defs`,
      name: `WGS 84 / UTM zone ${zone}${south ? 'S' : 'N'}`,
      units: 'metre',
    };
  }
  return undefined;
}

/** The transform for `epsg`; InvalidRequestError naming the supported CRSs for any other code. */
export function crsTransform(epsg: number, what = 'the mosaic'): CrsTransform {
  const known = proj4Definition(epsg);
  if (!known) {
    throw new InvalidRequestError(`${what} is in EPSG:${epsg}, which tessera cannot cut a lat/lng box from; supported: ${SUPPORTED_CRS_TEXT}`);
  }
  if (epsg === 4326) {
    return { epsg, name: known.name, units: 'degree', maxLatitude: 90, forward: ([x, y]) => [x, y], inverse: ([x, y]) => [x, y] };
  }
  const converter = proj4(WGS84, known.definition);
  return {
    epsg,
    name: known.name,
    units: known.units,
    maxLatitude: epsg === 3857 ? WEB_MERCATOR_MAX_LATITUDE : 90,
    forward: ([lng, lat]) => converter.forward<[number, number]>([lng, lat]),
    inverse: ([x, y]) => converter.inverse<[number, number]>([x, y]),
  };
}

/** The points along the edges of a box, `perEdge` segments per edge (corners included once). */
export function edgePoints(west: number, south: number, east: number, north: number, perEdge = EDGE_POINTS): XY[] {
  const points: XY[] = [];
  for (let i = 0; i < perEdge; i++) {
    const f = i / perEdge;
    points.push([west + f * (east - west), north]); // top, west → east
    points.push([east, north - f * (north - south)]); // right, north → south
    points.push([east - f * (east - west), south]); // bottom, east → west
    points.push([west, south + f * (north - south)]); // left, south → north
  }
  return points;
}

/**
 * The smallest envelope in the CRS holding the box: its edges densified to `perEdge` segments each
 * and transformed. Throws InvalidRequestError when a point has no place in the CRS.
 */
export function boxEnvelope(box: BoundingBox, crs: CrsTransform, perEdge = EDGE_POINTS): Envelope {
  const points = edgePoints(box.ulLng, box.lrLat, box.lrLng, box.ulLat, perEdge).map((p) => crs.forward(p));
  if (points.some(([x, y]) => !Number.isFinite(x) || !Number.isFinite(y))) {
    throw new InvalidRequestError(
      `the box ${describeBox(box)} cannot be shown in the mosaic's CRS (EPSG:${crs.epsg}, ${crs.name}): it lies outside the area that CRS covers`,
    );
  }
  return envelopeOf(points);
}

/** The WGS84 bounds of an envelope in the CRS (its edges densified); for messages. */
export function envelopeBounds(envelope: Envelope, crs: CrsTransform, perEdge = EDGE_POINTS): LngLatBounds {
  const points = edgePoints(envelope.minX, envelope.minY, envelope.maxX, envelope.maxY, perEdge)
    .map((p) => crs.inverse(p))
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const e = envelopeOf(points);
  return { west: e.minX, south: e.minY, east: e.maxX, north: e.maxY };
}

/**
 * Metres on the ground → degrees at `latitude` on the WGS84 ellipsoid: x along the parallel
 * (prime-vertical radius × cos φ), y along the meridian (meridional radius). Used to give an
 * EPSG:4326 mosaic's output pixels the requested size in metres at the box's centre latitude.
 */
export function metresToDegrees(metres: number, latitude: number): { x: number; y: number } {
  const a = 6378137;
  const f = 1 / 298.257223563;
  const e2 = f * (2 - f);
  const phi = (latitude * Math.PI) / 180;
  const w = 1 - e2 * Math.sin(phi) ** 2;
  const meridional = (a * (1 - e2)) / w ** 1.5;
  const primeVertical = a / Math.sqrt(w);
  const perDegreeY = (meridional * Math.PI) / 180;
  const perDegreeX = (primeVertical * Math.cos(phi) * Math.PI) / 180;
  return { x: metres / Math.max(perDegreeX, 1e-9), y: metres / perDegreeY };
}

/** "ul 45.3, 10.1 / lr 45.1, 10.4 (lat, lng)". */
export function describeBox(box: BoundingBox): string {
  return `(ul_lat ${box.ulLat}, ul_lng ${box.ulLng}, lr_lat ${box.lrLat}, lr_lng ${box.lrLng})`;
}

/** "lat −20.8…−20.1, lng 15.0…15.9", rounded for messages. */
export function describeBounds(bounds: LngLatBounds): string {
  const r = (n: number): string => String(Math.round(n * 1e4) / 1e4);
  return `lat ${r(bounds.south)}…${r(bounds.north)}, lng ${r(bounds.west)}…${r(bounds.east)}`;
}

function envelopeOf(points: readonly XY[]): Envelope {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const [x, y] of points) {
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  return { minX, minY, maxX, maxY };
}
