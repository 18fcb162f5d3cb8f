/**
 * Small Sentinel-2-like band files for tests that check index codes pixel by pixel: one tiled
 * DEFLATE GeoTIFF per band over the same UTM extent of a 10 m grid, each at its own pixel size
 * (10 or 20 m), with the values a test chooses; and the value of a band under any output pixel of
 * the 10 m grid, by nearest neighbour, as the independent side of the comparison.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeGeoTiff } from './tiff-writer.js';

export interface SyntheticBands<B extends string> {
  /** `<folder>/<band>.tif`. */
  path(band: B): string;
  /** The value of `band` under output pixel (column, row) of the 10 m grid. */
  valueAt(band: B, column: number, row: number): number;
}

export interface SyntheticBandOptions<B extends string> {
  readonly folder: string;
  /** The 10 m grid's size; every band covers the same extent. */
  readonly width: number;
  readonly height: number;
  /** Each band's pixel size, 10 or 20 m. */
  readonly pixel: Readonly<Record<B, number>>;
  /** A band's values (row-major, its own width × height): uint16 with no-data 0, or uint8 classes without no-data. */
  values(band: B, width: number, height: number): Uint16Array | Uint8Array;
}

export async function writeSyntheticBands<B extends string>(options: SyntheticBandOptions<B>): Promise<SyntheticBands<B>> {
  const samples = new Map<B, { values: Uint16Array | Uint8Array; width: number }>();
  for (const band of Object.keys(options.pixel) as B[]) {
    const size = options.pixel[band];
    const scale = size / 10;
    const [width, height] = [options.width / scale, options.height / scale];
    const values = options.values(band, width, height);
    samples.set(band, { values, width });
    const common = { width, height, tileSize: 16, compression: 8, crs: { epsg: 32633 }, origin: { x: 500_000, y: 4_600_000 }, pixelSize: size } as const;
    const file =
      values instanceof Uint8Array
        ? writeGeoTiff({ ...common, sampleType: 'uint8', samples: [values] })
        : writeGeoTiff({ ...common, sampleType: 'uint16', predictor: 2, nodata: 0, samples: [values] });
    await writeFile(join(options.folder, `${band}.tif`), file);
  }
  return {
    path: (band) => join(options.folder, `${band}.tif`),
    valueAt(band, column, row) {
      const scale = options.pixel[band] / 10;
      const { values, width } = samples.get(band) ?? { values: new Uint16Array(), width: 0 };
      return values[Math.floor(row / scale) * width + Math.floor(column / scale)] ?? 0;
    },
  };
}
