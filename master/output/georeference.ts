/**
 * Georeferencing sidecars for the mosaic PNGs: the world file (.pgw), the GDAL PAM file (.png.aux.xml)
 * holding the CRS, and the CRS's WKT looked up by EPSG code (offline: from the `epsg-index` package,
 * with composed fallbacks for WGS 84, Web Mercator and the WGS 84 UTM zones).
 */
import { createRequire } from 'node:module';

import { TesseraError } from '../../shared/errors.js';

/** A north-up output grid: the outer corner of the upper-left pixel, positive pixel sizes, size in pixels. */
export interface OutputGrid {
  readonly originX: number;
  readonly originY: number;
  readonly pixelWidth: number;
  readonly pixelHeight: number;
  readonly width: number;
  readonly height: number;
  readonly epsg: number;
}

export interface GridBounds {
  readonly minX: number;
  readonly minY: number;
  readonly maxX: number;
  readonly maxY: number;
}

/** Throws a TesseraError unless the grid is usable (finite origin, positive sizes, integer dimensions). */
export function assertValidGrid(grid: OutputGrid): void {
  const problems: string[] = [];
  if (!Number.isFinite(grid.originX) || !Number.isFinite(grid.originY)) problems.push('origin is not finite');
  if (!(grid.pixelWidth > 0) || !(grid.pixelHeight > 0) || !Number.isFinite(grid.pixelWidth + grid.pixelHeight)) {
    problems.push('pixel sizes must be positive');
  }
  if (!Number.isInteger(grid.width) || !Number.isInteger(grid.height) || grid.width < 1 || grid.height < 1) {
    problems.push(`size ${grid.width}x${grid.height} must be positive integers`);
  }
  if (!Number.isInteger(grid.epsg) || grid.epsg < 1) problems.push(`EPSG code ${grid.epsg} is invalid`);
  if (problems.length > 0) throw new TesseraError(`output grid: ${problems.join('; ')}`);
}

/** The grid's outer edges in CRS units. */
export function gridBounds(grid: OutputGrid): GridBounds {
  return {
    minX: grid.originX,
    minY: grid.originY - grid.height * grid.pixelHeight,
    maxX: grid.originX + grid.width * grid.pixelWidth,
    maxY: grid.originY,
  };
}

/**
 * World file text (.pgw): pixel width, 0, 0, −pixel height, then x and y of the CENTRE of the upper-left
 * pixel, one per line. Numbers are written in JavaScript's shortest round-trip form.
 */
export function worldFileText(grid: OutputGrid): string {
  assertValidGrid(grid);
  const lines = [
    grid.pixelWidth,
    0,
    0,
    -grid.pixelHeight,
    grid.originX + grid.pixelWidth / 2,
    grid.originY - grid.pixelHeight / 2,
  ];
  return `${lines.map((n) => String(n)).join('\n')}\n`;
}

/**
 * GDAL PAM sidecar (`<name>.png.aux.xml`) holding the CRS as WKT. The `dataAxisToSRSAxisMapping`
 * attribute is left out on purpose: GDAL (gcore/gdalpamdataset.cpp, XMLInit) then applies
 * OAMS_TRADITIONAL_GIS_ORDER, i.e. x = easting/longitude, y = northing/latitude, which is what the world
 * file means for every CRS — whereas a fixed "1,2" would be wrong for a WKT whose axes are lat/long.
 */
export function auxXmlText(wkt: string): string {
  if (wkt.trim() === '') throw new TesseraError('aux.xml: empty WKT');
  return `<PAMDataset>\n  <SRS>${escapeXml(wkt)}</SRS>\n</PAMDataset>\n`;
}

/**
 * WKT (GDAL-style WKT1, with AUTHORITY["EPSG", code]) of a horizontal CRS given by its EPSG code.
 * Throws a TesseraError for a code neither epsg-index nor the composed fallbacks know, or one that is not
 * a 2D projected or geographic CRS.
 */
export function crsWkt(epsg: number): string {
  if (!Number.isInteger(epsg) || epsg < 1 || epsg > 99_999_999) {
    throw new TesseraError(`EPSG:${epsg}: not a valid EPSG code`);
  }
  const entry = loadEpsgEntry(epsg);
  if (entry) {
    if (entry.kind !== 'CRS-PROJCRS' && entry.kind !== 'CRS-GEOGCRS') {
      throw new TesseraError(
        `EPSG:${epsg} (${entry.name}) is a ${entry.kind}, not a 2D projected or geographic CRS`,
      );
    }
    if (entry.wkt) return entry.wkt;
  }
  const composed = fallbackCrsWkt(epsg);
  if (composed) return composed;
  throw new TesseraError(
    `EPSG:${epsg}: no WKT known for this code (epsg-index has ${entry ? 'no WKT for it' : 'no entry'}; ` +
      'built-in fallbacks cover 4326, 3857, 32601-32660 and 32701-32760)',
  );
}

/** A composed WKT1 for EPSG:4326, 3857 and the WGS 84 UTM zones (326xx / 327xx); undefined otherwise. */
export function fallbackCrsWkt(epsg: number): string | undefined {
  if (epsg === 4326) return WGS84_GEOGCS;
  if (epsg === 3857) return PSEUDO_MERCATOR;
  const zone = epsg % 100;
  const south = Math.floor(epsg / 100) === 327;
  if ((Math.floor(epsg / 100) === 326 || south) && zone >= 1 && zone <= 60) {
    const centralMeridian = -183 + 6 * zone;
    return (
      `PROJCS["WGS 84 / UTM zone ${zone}${south ? 'S' : 'N'}",${WGS84_GEOGCS},` +
      'PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],' +
      `PARAMETER["central_meridian",${centralMeridian}],PARAMETER["scale_factor",0.9996],` +
      `PARAMETER["false_easting",500000],PARAMETER["false_northing",${south ? 10000000 : 0}],` +
      `${METRE},AXIS["Easting",EAST],AXIS["Northing",NORTH],AUTHORITY["EPSG","${epsg}"]]`
    );
  }
  return undefined;
}

const WGS84_GEOGCS =
  'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],' +
  'AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],' +
  'UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4326"]]';

const METRE = 'UNIT["metre",1,AUTHORITY["EPSG","9001"]]';

const PSEUDO_MERCATOR =
  `PROJCS["WGS 84 / Pseudo-Mercator",${WGS84_GEOGCS},PROJECTION["Mercator_1SP"],` +
  'PARAMETER["central_meridian",0],PARAMETER["scale_factor",1],PARAMETER["false_easting",0],' +
  `PARAMETER["false_northing",0],${METRE},AXIS["Easting",EAST],AXIS["Northing",NORTH],` +
  'EXTENSION["PROJ4","+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m ' +
  '+nadgrids=@null +wktext +no_defs"],AUTHORITY["EPSG","3857"]]';

/** One file of epsg-index (`epsg-index/s/<code>.json`), the fields we read. */
interface EpsgEntry {
  readonly kind: string;
  readonly name: string;
  readonly wkt: string | null;
  readonly proj4: string | null;
}

/** The proj4 definition epsg-index has for `epsg` (undefined when it has none), e.g. to reproject a preview. */
export function crsProj4(epsg: number): string | undefined {
  return loadEpsgEntry(epsg)?.proj4 ?? undefined;
}

const requireJson = createRequire(import.meta.url);

function loadEpsgEntry(epsg: number): EpsgEntry | undefined {
  let raw: unknown;
  try {
    raw = requireJson(`epsg-index/s/${epsg}.json`);
  } catch (error) {
    if (isModuleNotFound(error)) return undefined;
    throw new TesseraError(`EPSG:${epsg}: could not read epsg-index`, { cause: error });
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const record = raw as Record<string, unknown>;
  return {
    kind: typeof record['kind'] === 'string' ? record['kind'] : 'unknown',
    name: typeof record['name'] === 'string' ? record['name'] : `EPSG:${epsg}`,
    wkt: typeof record['wkt'] === 'string' && record['wkt'] !== '' ? record['wkt'] : null,
    proj4: typeof record['proj4'] === 'string' && record['proj4'] !== '' ? record['proj4'] : null,
  };
}

function isModuleNotFound(error: unknown): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND';
}

function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;'); // as GDAL's CPLEscapeString(CPLES_XML) writes WKT quotes
}
