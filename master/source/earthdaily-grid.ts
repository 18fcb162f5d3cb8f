/**
 * The output grid of an EarthDaily box: the pixel size a resolution means in the mosaic's CRS, the
 * overview level to read, and the lattice of output cells anchored at the mosaic's origin that covers
 * the box (clipped to the mosaic). Pure geometry: no file is read here.
 */
import type { BoundingBox } from '../../shared/types.js';
import type { OutputGrid } from './band-set.js';
import type { GeoTransform } from './band-source.js';
import { metresToDegrees, type CrsTransform, type Envelope } from './crs-transform.js';

/** One resolution level of the mosaic: image `index` of the file, its size and geotransform. */
export interface MosaicLevel {
  readonly index: number;
  readonly width: number;
  readonly height: number;
  readonly transform: GeoTransform;
}

/** Output pixel size in the mosaic CRS's units, per axis. */
export interface PixelSize {
  readonly x: number;
  readonly y: number;
}

/**
 * The output pixel size in CRS units for `resolution` metres. Projected CRSs (UTM, Web Mercator):
 * `resolution` CRS metres, as gdalwarp -tr would take it (in Web Mercator a CRS metre is
 * cos(latitude) ground metres). EPSG:4326: degrees giving `resolution` ground metres at the box's
 * centre latitude, along each axis (so pixels are square on the ground there, not in degrees).
 */
export function outputPixelSize(resolution: number, crs: Pick<CrsTransform, 'units'>, box: BoundingBox): PixelSize {
  if (crs.units === 'metre') return { x: resolution, y: resolution };
  return metresToDegrees(resolution, (box.ulLat + box.lrLat) / 2);
}

/**
 * An overview's geotransform (its IFD has none): the full-resolution image's origin, pixel sizes
 * scaled by the size ratios, as GDAL derives them.
 */
export function overviewTransform(full: MosaicLevel, width: number, height: number): GeoTransform {
  return {
    originX: full.transform.originX,
    originY: full.transform.originY,
    pixelWidth: (full.transform.pixelWidth * full.width) / width,
    pixelHeight: (full.transform.pixelHeight * full.height) / height,
  };
}

/**
 * The level to read: among the levels whose pixels are no larger than `pixel` on both axes, the one
 * with the largest pixels (ties: the lower index); the first level (full resolution) when none is.
 */
export function chooseLevel(levels: readonly MosaicLevel[], pixel: PixelSize): MosaicLevel {
  const [full] = levels;
  if (!full) throw new Error('chooseLevel: no levels');
  let best: MosaicLevel | undefined;
  for (const level of levels) {
    const t = level.transform;
    if (t.pixelWidth > pixel.x * (1 + 1e-9) || t.pixelHeight > pixel.y * (1 + 1e-9)) continue;
    if (!best || t.pixelWidth * t.pixelHeight > best.transform.pixelWidth * best.transform.pixelHeight * (1 + 1e-9)) best = level;
  }
  return best ?? full;
}

/**
 * The output grid for a box envelope: `pixel`-sized cells of a lattice anchored at the mosaic's
 * origin (so a grid at the mosaic's own pixel size reads its pixels exactly), covering the envelope,
 * cut to the lattice cells that touch the mosaic (a box reaching past the mosaic is clipped: the
 * grid covers only the part inside). Undefined when the envelope does not overlap the mosaic.
 */
export function planBoxGrid(envelope: Envelope, pixel: PixelSize, mosaic: MosaicLevel, epsg: number): { grid: OutputGrid; clipped: boolean } | undefined {
  const t = mosaic.transform;
  const right = t.originX + mosaic.width * t.pixelWidth;
  const bottom = t.originY - mosaic.height * t.pixelHeight;
  if (!(envelope.maxX > t.originX && envelope.minX < right && envelope.maxY > bottom && envelope.minY < t.originY)) return undefined;
  const first = { column: floorish((envelope.minX - t.originX) / pixel.x), row: floorish((t.originY - envelope.maxY) / pixel.y) };
  const end = { column: ceilish((envelope.maxX - t.originX) / pixel.x), row: ceilish((t.originY - envelope.minY) / pixel.y) };
  const limit = { column: ceilish((mosaic.width * t.pixelWidth) / pixel.x), row: ceilish((mosaic.height * t.pixelHeight) / pixel.y) };
  const column0 = Math.max(first.column, 0);
  const row0 = Math.max(first.row, 0);
  const column1 = Math.min(end.column, limit.column);
  const row1 = Math.min(end.row, limit.row);
  if (column1 <= column0 || row1 <= row0) return undefined;
  return {
    grid: {
      originX: t.originX + column0 * pixel.x,
      originY: t.originY - row0 * pixel.y,
      pixelWidth: pixel.x,
      pixelHeight: pixel.y,
      width: column1 - column0,
      height: row1 - row0,
      epsg,
    },
    clipped: column0 > first.column || row0 > first.row || column1 < end.column || row1 < end.row,
  };
}

/** Math.floor / Math.ceil that treat values within 1e-9 of an integer as that integer (float noise). */
export function floorish(value: number): number {
  const rounded = Math.round(value);
  return Math.abs(value - rounded) < 1e-9 ? rounded : Math.floor(value);
}

export function ceilish(value: number): number {
  const rounded = Math.round(value);
  return Math.abs(value - rounded) < 1e-9 ? rounded : Math.ceil(value);
}
