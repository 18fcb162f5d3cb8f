/**
 * The synthetic Sentinel-2 L2A tiles the benchmark runs on, laid out as Copernicus / Element 84
 * cloud-optimized GeoTIFFs are: B03, B04, B08 at 10 m and B11 at 20 m, uint16, DEFLATE (zlib level 6)
 * with the horizontal predictor, 1024² internal tiles, GDAL_NODATA 0, UTM 33N, one origin for both
 * resolutions. Plain data, so it can be handed to build threads and hashed into the cache stamp.
 */
import type { BandName } from '../../shared/types.js';

/** The bands a synthetic scene has: those NDVI and NDSI read. */
export type SceneBand = Extract<BandName, 'green' | 'red' | 'nir' | 'swir16'>;

export const SCENE_NAMES = ['full', 'wide', 'small'] as const;
export type SceneName = (typeof SCENE_NAMES)[number];

export interface BandSpec {
  /** Sentinel-2 band id, also the file name (B04.tif). */
  readonly id: 'B03' | 'B04' | 'B08' | 'B11';
  readonly stac: SceneBand;
  readonly pixelSize: 10 | 20;
  readonly width: number;
  readonly height: number;
}

export interface SceneSpec {
  /** full, wide, small; or e.g. small-4096x4096 when a size was given. */
  readonly name: string;
  /** The 10 m grid, in pixels. */
  readonly width: number;
  readonly height: number;
  readonly epsg: number;
  /** Upper-left corner of the upper-left pixel (both resolutions). */
  readonly origin: { readonly x: number; readonly y: number };
  readonly tileSize: number;
  readonly deflateLevel: number;
  /**
   * Sensor noise: triangular, ± this many DN. It sets how well the bands compress: ±120 gives ~1.33 B/px
   * after DEFLATE + predictor, ±250 ~1.43 B/px, which with the no-data corner puts a full tile's four files
   * at ~535 MB, as real tiles are.
   */
  readonly noiseDn: number;
  /** BOA_ADD_OFFSET the DNs are written with (processing baseline ≥ 04.00): DN = ρ·10000 − offset. */
  readonly reflectanceOffset: number;
  readonly bands: readonly BandSpec[];
}

const SIZES: Readonly<Record<SceneName, { readonly width: number; readonly height: number }>> = {
  full: { width: 10980, height: 10980 },
  wide: { width: 21960, height: 10980 },
  small: { width: 2048, height: 2048 },
};

/** "4096" or "4096x2048" (width × height of the 10 m grid; even numbers, so the 20 m grid is exact). */
export function parseSceneSize(text: string): { width: number; height: number } {
  const match = /^(\d+)(?:x(\d+))?$/.exec(text.trim());
  const width = Number(match?.[1]);
  const height = Number(match?.[2] ?? match?.[1]);
  if (!match || !Number.isInteger(width) || !Number.isInteger(height) || width < 64 || height < 64 || width % 2 || height % 2) {
    throw new Error(`--size must be N or WxH, even numbers ≥ 64 (got ${JSON.stringify(text)})`);
  }
  return { width, height };
}

export function sceneSpec(name: SceneName, size?: { readonly width: number; readonly height: number }): SceneSpec {
  const { width, height } = size ?? SIZES[name];
  const band = (id: BandSpec['id'], stac: SceneBand, pixelSize: 10 | 20): BandSpec => ({
    id,
    stac,
    pixelSize,
    width: (width * 10) / pixelSize,
    height: (height * 10) / pixelSize,
  });
  return {
    name: size ? `${name}-${width}x${height}` : name,
    width,
    height,
    epsg: 32633,
    origin: { x: 600000, y: 5300040 },
    tileSize: 1024,
    deflateLevel: 6,
    noiseDn: 250,
    reflectanceOffset: -1000,
    bands: [band('B03', 'green', 10), band('B04', 'red', 10), band('B08', 'nir', 10), band('B11', 'swir16', 20)],
  };
}

/** The GeoTIFF format of one band's file. */
export function bandFormat(spec: SceneSpec, band: BandSpec) {
  return {
    width: band.width,
    height: band.height,
    sampleType: 'uint16',
    tileSize: spec.tileSize,
    compression: 8,
    predictor: 2,
    deflateLevel: spec.deflateLevel,
    crs: { epsg: spec.epsg },
    origin: spec.origin,
    pixelSize: band.pixelSize,
    nodata: 0,
  } as const;
}
