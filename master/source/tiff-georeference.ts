/**
 * What a GeoTIFF image's tags say about its pixels and their place on Earth: the sample type, the
 * north-up geotransform (ModelPixelScale + ModelTiepoint or ModelTransformation, PixelIsPoint
 * shifted as GDAL does) and the EPSG code from the GeoKeys. Anything tessera cannot use is refused
 * through `fail`, with the fix in words.
 */
import type { GeoTIFFImage } from 'geotiff';
import type { InvalidRequestError } from '../../shared/errors.js';
import type { SampleType } from '../../shared/types.js';

/** A north-up geotransform: upper-left corner of the upper-left pixel, positive pixel sizes. */
export interface GeoTransform {
  readonly originX: number;
  readonly originY: number;
  readonly pixelWidth: number;
  readonly pixelHeight: number;
}

export type Fail = (problem: string) => InvalidRequestError;

/** The decoded type of a sample with TIFF SampleFormat `format` and BitsPerSample `bits` (float16 → float32). */
export function sampleTypeOf(format: number, bits: number, fail: Fail): SampleType {
  const type =
    format === 1
      ? ({ 8: 'uint8', 16: 'uint16', 32: 'uint32' } as const)[bits]
      : format === 2
        ? ({ 8: 'int8', 16: 'int16', 32: 'int32' } as const)[bits]
        : format === 3
          ? ({ 16: 'float32', 32: 'float32', 64: 'float64' } as const)[bits]
          : undefined;
  if (!type) {
    const kind = ({ 1: 'unsigned integer', 2: 'signed integer', 3: 'floating point' } as Record<number, string>)[format] ?? `SampleFormat ${format}`;
    throw fail(`unsupported sample type (${bits}-bit ${kind}); supported: 8/16/32-bit integers, 16/32/64-bit floats`);
  }
  return type;
}

/** The GeoKeys geotiff parsed from the image (null when it has none). */
export type GeoKeys = ReturnType<GeoTIFFImage['getGeoKeys']>;

/** The image's geotransform, refused unless north-up, finite and a single tie point. */
export async function readTransform(image: GeoTIFFImage, geoKeys: GeoKeys, fail: Fail): Promise<GeoTransform> {
  const directory = image.getFileDirectory();
  const scale = directory.hasTag('ModelPixelScale') ? numbers(await directory.loadValue('ModelPixelScale')) : null;
  const tiepoints = directory.hasTag('ModelTiepoint') ? numbers(await directory.loadValue('ModelTiepoint')) : null;
  const matrix = directory.hasTag('ModelTransformation') ? numbers(await directory.loadValue('ModelTransformation')) : null;
  let transform: GeoTransform;
  if (scale && tiepoints) {
    if (tiepoints.length !== 6) {
      throw fail(`the file has ${Math.floor(tiepoints.length / 6)} tie points (ground control points) instead of a geotransform; warp it to a north-up grid first`);
    }
    const [i, j, , x, y] = tiepoints as [number, number, number, number, number, number];
    const [sx, sy] = scale as [number, number];
    if (!(sx > 0) || !(sy > 0)) {
      throw fail(`the geotransform is not north-up (ModelPixelScale ${sx}, ${sy}); tessera needs positive pixel sizes with rows running south`);
    }
    transform = { originX: x - i * sx, originY: y + j * sy, pixelWidth: sx, pixelHeight: sy };
  } else if (matrix && matrix.length >= 8) {
    const [a, b, , d, e, f, , h] = matrix as [number, number, number, number, number, number, number, number];
    if (b !== 0 || e !== 0) {
      throw fail(`the geotransform is rotated or skewed (ModelTransformation terms ${b}, ${e}); warp it to a north-up grid first`);
    }
    if (!(a > 0) || !(f < 0)) {
      throw fail(`the geotransform is not north-up (pixel size ${a} × ${f}); tessera needs x growing east and y growing north`);
    }
    transform = { originX: d, originY: h, pixelWidth: a, pixelHeight: -f };
  } else {
    throw fail('the file has no geotransform (neither ModelPixelScale + ModelTiepoint nor ModelTransformation)');
  }
  if (![transform.originX, transform.originY, transform.pixelWidth, transform.pixelHeight].every(Number.isFinite)) {
    throw fail('the geotransform holds non-finite numbers');
  }
  // PixelIsPoint: the tie point is the centre of the pixel, not its corner (GDAL shifts by half a pixel).
  if (geoKeys?.GTRasterTypeGeoKey === 2) {
    transform = {
      ...transform,
      originX: transform.originX - transform.pixelWidth / 2,
      originY: transform.originY + transform.pixelHeight / 2,
    };
  }
  return transform;
}

/** The EPSG code of the image's CRS (projected or geographic), refused when user-defined or missing. */
export function readEpsg(geoKeys: GeoKeys, fail: Fail): number {
  if (!geoKeys) throw fail('the file has no GeoKeys, so its CRS is unknown; tessera needs an EPSG code');
  const modelType: unknown = geoKeys.GTModelTypeGeoKey;
  const projected: unknown = geoKeys.ProjectedCSTypeGeoKey;
  const geographic: unknown = geoKeys.GeographicTypeGeoKey;
  let code: unknown;
  let key: string;
  if (modelType === 2) {
    code = geographic;
    key = 'GeographicTypeGeoKey';
  } else if (modelType === 1 || projected !== undefined) {
    code = projected;
    key = 'ProjectedCSTypeGeoKey';
  } else if (modelType === undefined || geographic !== undefined) {
    code = geographic;
    key = 'GeographicTypeGeoKey';
  } else {
    throw fail(`unsupported GTModelTypeGeoKey ${String(modelType)}; tessera needs a projected or geographic CRS with an EPSG code`);
  }
  if (code === undefined) throw fail(`the file has no EPSG code (${key} is missing); tessera needs a CRS given by an EPSG code`);
  if (code === 32767) {
    throw fail(`the CRS is user-defined (${key} = 32767), not an EPSG code; re-export the file with a registered EPSG CRS`);
  }
  if (typeof code !== 'number' || !Number.isInteger(code) || code <= 0) throw fail(`${key} holds ${String(code)}, which is not an EPSG code`);
  return code;
}

/** A TIFF tag's value as a plain number array (empty when absent). */
export function numbers(value: unknown): number[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'number') return [value];
  if (Array.isArray(value) || ArrayBuffer.isView(value)) return Array.from(value as ArrayLike<number>, Number);
  return [];
}
