/**
 * Input files a user might hand tessera by mistake, written into a folder for the tests of bad
 * inputs: small good GeoTIFFs (one band per file, a 4-band file, a 1×1 image, an all-no-data
 * image), and bad ones (a truncated GeoTIFF, a sparse 50000² header, a file in another CRS, one
 * elsewhere, one without georeferencing, a JPEG made with sharp, text named .tif, an empty file, a
 * folder). No GDAL needed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { writeGeoTiff } from './tiff-writer.js';

/** UTM 33N, where the small scenes lie. */
export const SCENE_EPSG = 32633;
const ORIGIN = { x: 500_000, y: 5_000_000 };

export interface OddInputs {
  readonly dir: string;
  /** 64×64 uint16 single-band scenes on one grid: red and nir of a good request. */
  readonly red: string;
  readonly nir: string;
  /** 64×64, 4 bands (blue, green, red, nir). */
  readonly fourBands: string;
  /** 1×1 red and nir scenes. */
  readonly onePixel: string;
  readonly onePixelNir: string;
  /** Every pixel is the no-data value. */
  readonly allNodata: string;
  /** The red scene with its last 2000 bytes cut off. */
  readonly truncated: string;
  /** A 50000 × 50000 tiled header whose every tile is sparse: a few hundred KB. */
  readonly sparseHuge: string;
  /** The red scene's grid, in EPSG:32634. */
  readonly otherCrs: string;
  /** The red scene's CRS, 100 km east. */
  readonly elsewhere: string;
  /** No GeoKeys at all. */
  readonly noCrs: string;
  readonly jpeg: string;
  readonly text: string;
  readonly empty: string;
  readonly folder: string;
  readonly missing: string;
  /** Bytes of the good scenes, to serve over http. */
  readonly redBytes: Buffer;
  readonly htmlBytes: Buffer;
}

const SIZE = 64;

function scene(value: (x: number, y: number) => number, options: { epsg?: number | null; originX?: number; size?: number; nodata?: number } = {}): Buffer {
  const size = options.size ?? SIZE;
  const samples = new Uint16Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) samples[y * size + x] = value(x, y);
  return writeGeoTiff({
    width: size,
    height: size,
    sampleType: 'uint16',
    samples: [samples],
    compression: 8,
    predictor: 2,
    tileSize: 16,
    crs: options.epsg === null ? null : { epsg: options.epsg ?? SCENE_EPSG },
    origin: { x: options.originX ?? ORIGIN.x, y: ORIGIN.y },
    pixelSize: 10,
    ...(options.nodata === undefined ? {} : { nodata: options.nodata }),
  });
}

export async function writeOddInputs(dir: string): Promise<OddInputs> {
  await mkdir(dir, { recursive: true });
  const path = (name: string): string => join(dir, name);
  const red = (x: number, y: number): number => 500 + ((x * 7 + y * 3) % 400);
  const nir = (x: number, y: number): number => 2500 + ((x * 5 + y * 11) % 900);
  const redBytes = scene(red);

  const fourBandSamples = [0, 1, 2, 3].map((band) => {
    const samples = new Uint16Array(SIZE * SIZE);
    for (let i = 0; i < samples.length; i++) samples[i] = band === 3 ? nir(i % SIZE, Math.floor(i / SIZE)) : 300 + band * 200 + (i % 50);
    return samples;
  });
  const fourBands = writeGeoTiff({
    width: SIZE,
    height: SIZE,
    sampleType: 'uint16',
    samples: fourBandSamples,
    tileSize: 16,
    crs: { epsg: SCENE_EPSG },
    origin: ORIGIN,
    pixelSize: 10,
  });

  const hugeSide = 50_000;
  const sparseHuge = writeGeoTiff({
    width: hugeSide,
    height: hugeSide,
    sampleType: 'uint16',
    // Never read: every block is sparse.
    samples: [{ length: hugeSide * hugeSide }],
    sparse: () => true,
    tileSize: 512,
    crs: { epsg: SCENE_EPSG },
    origin: ORIGIN,
    pixelSize: 10,
  });

  const jpeg = await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 40, g: 120, b: 40 } } }).jpeg().toBuffer();
  const htmlBytes = Buffer.from('<!DOCTYPE html>\n<html><body><h1>403 Forbidden</h1></body></html>\n');

  const files: Record<string, Buffer> = {
    'red.tif': redBytes,
    'nir.tif': scene(nir),
    'four-bands.tif': fourBands,
    'one-pixel.tif': scene(() => 1000, { size: 1 }),
    'one-pixel-nir.tif': scene(() => 3000, { size: 1 }),
    'all-nodata.tif': scene(() => 0, { nodata: 0 }),
    'truncated.tif': redBytes.subarray(0, redBytes.length - 2000),
    'sparse-50000.tif': sparseHuge,
    'other-crs.tif': scene(nir, { epsg: 32634 }),
    'elsewhere.tif': scene(nir, { originX: ORIGIN.x + 100_000 }),
    'no-crs.tif': scene(nir, { epsg: null }),
    'photo.tif': jpeg,
    'notes.tif': Buffer.from('hello, this is not an image\n'),
    'empty.tif': Buffer.alloc(0),
  };
  await Promise.all(Object.entries(files).map(([name, bytes]) => writeFile(path(name), bytes)));
  await mkdir(path('folder.tif'), { recursive: true });
  return {
    dir,
    red: path('red.tif'),
    nir: path('nir.tif'),
    fourBands: path('four-bands.tif'),
    onePixel: path('one-pixel.tif'),
    onePixelNir: path('one-pixel-nir.tif'),
    allNodata: path('all-nodata.tif'),
    truncated: path('truncated.tif'),
    sparseHuge: path('sparse-50000.tif'),
    otherCrs: path('other-crs.tif'),
    elsewhere: path('elsewhere.tif'),
    noCrs: path('no-crs.tif'),
    jpeg: path('photo.tif'),
    text: path('notes.tif'),
    empty: path('empty.tif'),
    folder: path('folder.tif'),
    missing: path('no-such-file.tif'),
    redBytes,
    htmlBytes,
  };
}
