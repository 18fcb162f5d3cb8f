/**
 * Opens one band of a GeoTIFF and describes it: parses a band reference (`path-or-url[#N]`),
 * opens the file (local path or http(s) URL) with geotiff, and reads from its full-resolution
 * image (image 0) the size, geotransform, EPSG code, nodata, sample type and block layout that
 * the rest of the master plans and reads tiles with. How files are opened (and remote reads
 * metered and retried) is geotiff-opener.ts's job.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GeoTIFF, GeoTIFFImage } from 'geotiff';
import { BlockCache } from './block-cache.js';
import { LocalFile } from './local-file.js';
import { FetchMeter } from './fetch-meter.js';
import { URL_SCHEME, openGeoTiff, type RetryPolicy, type TiffOpener } from './geotiff-opener.js';
import { InvalidRequestError, SourceReadError } from '../../shared/errors.js';
import type { SampleType } from '../../shared/types.js';
import { withoutQuery } from '../../shared/urls.js';
import { numbers, readEpsg, readTransform, sampleTypeOf, type GeoTransform } from './tiff-georeference.js';

export type { GeoTransform } from './tiff-georeference.js';

import type { BandReference } from '../../shared/request/band-reference.js';

/** Band references are parsed by the request rules (shared/request); re-exported for this module's callers. */
export { parseBandReference, type BandReference } from '../../shared/request/band-reference.js';

/** How the image is cut into internal blocks: tiles, or strips as wide as the image. */
export interface BlockLayout {
  readonly tiled: boolean;
  readonly blockWidth: number;
  readonly blockHeight: number;
}

/** An opened GeoTIFF file and its full-resolution image, shared by every band read from it. */
export interface OpenedTiff {
  readonly uri: string;
  /** Identifies the file: absolute path for local files, the URL for remote ones. */
  readonly key: string;
  readonly tiff: GeoTIFF;
  readonly image: GeoTIFFImage;
  /** What reading the file has fetched over http so far (absent or 0/0 for local files). */
  readonly meter?: FetchMeter;
  /** Recently read compressed blocks of a remote file, shared by the strips of a request. */
  readonly blocks?: BlockCache;
  /** A local file's positional reads (stored blocks go from it straight into the messages sent). */
  readonly local?: LocalFile;
}

/** One band of a GeoTIFF, described. */
export interface BandSource {
  readonly reference: BandReference;
  /** "band N of <uri>", for messages. */
  readonly label: string;
  readonly file: OpenedTiff;
  /** 0-based sample number of the band inside the file (reference.band − 1). */
  readonly sample: number;
  readonly width: number;
  readonly height: number;
  readonly transform: GeoTransform;
  readonly epsg: number;
  readonly nodata: number | null;
  /** The type decoded values have (float16 files decode to float32). */
  readonly sampleType: SampleType;
  readonly samplesPerPixel: number;
  /** TIFF BitsPerSample and SampleFormat of every sample of the file. */
  readonly bitsPerSample: readonly number[];
  readonly sampleFormats: readonly number[];
  readonly layout: BlockLayout;
  readonly compression: number;
  readonly predictor: number;
  readonly planarConfiguration: 1 | 2;
  readonly littleEndian: boolean;
}

/** The key two references must share to be the same file. */
export function fileKey(uri: string): string {
  if (URL_SCHEME.test(uri)) return uri.toLowerCase().startsWith('file://') ? resolve(fileURLToPath(uri)) : uri;
  return resolve(uri);
}

/**
 * Opens a file and its image 0. Failures are SourceReadError naming the file without its query
 * (and `what` uses it). The file's http traffic is counted in the returned `meter`.
 */
export async function openTiff(
  uri: string,
  options: { open?: TiffOpener; signal?: AbortSignal; what?: string; retry?: RetryPolicy; blockCacheBytes?: number } = {},
): Promise<OpenedTiff> {
  const open = options.open ?? openGeoTiff;
  const prefix = options.what ? `${options.what}: ` : '';
  const shown = withoutQuery(uri);
  if (URL_SCHEME.test(uri) && !/^(https?|file):\/\//i.test(uri)) {
    throw new InvalidRequestError(`${prefix}cannot open "${shown}": only local paths and http(s) URLs are supported`);
  }
  const meter = new FetchMeter();
  let tiff: GeoTIFF;
  try {
    tiff = await open(uri, options.signal, { meter, ...(options.retry ? { retry: options.retry } : {}) });
  } catch (error) {
    throw new SourceReadError(`${prefix}cannot open "${shown}" as a GeoTIFF: ${messageOf(error)}`, { cause: error });
  }
  try {
    const image = await tiff.getImage(0);
    // Remote reads go through a block cache (neighbouring strips of a resampled grid share blocks);
    // local files have the operating system's page cache, and a second cache would only cost memory.
    const remote = URL_SCHEME.test(uri) && !/^file:\/\//i.test(uri);
    const key = fileKey(uri);
    return { uri, key, tiff, image, meter, ...(remote ? { blocks: new BlockCache(options.blockCacheBytes) } : { local: new LocalFile(key) }) };
  } catch (error) {
    await closeQuietly(tiff);
    throw new SourceReadError(`${prefix}cannot read the first image of "${shown}": ${messageOf(error)}`, { cause: error });
  }
}

/** Closes a file opened by openTiff (a no-op for remote sources). */
export async function closeTiff(file: OpenedTiff): Promise<void> {
  await Promise.all([closeQuietly(file.tiff), file.local?.close().catch(() => undefined)]);
}

/**
 * Georeferencing a reduced-resolution image (an overview) takes from its full-resolution image:
 * overview IFDs carry no geotransform or GeoKeys of their own.
 */
export interface InheritedGeoreference {
  readonly transform: GeoTransform;
  readonly epsg: number;
  readonly nodata: number | null;
  /** Appended to the label, e.g. "overview 2". */
  readonly level?: string;
}

/**
 * Describes band `reference.band` of an opened file's `file.image`. `name` (e.g. "red") is used in
 * messages. With `inherited`, the geotransform, EPSG code and nodata come from it instead of the
 * image (for overview images). Throws InvalidRequestError when the band does not exist or the file
 * lacks what tessera needs.
 */
export async function describeBand(file: OpenedTiff, reference: BandReference, name?: string, inherited?: InheritedGeoreference): Promise<BandSource> {
  const label = `band ${reference.band} of "${withoutQuery(file.uri)}"${inherited?.level ? ` (${inherited.level})` : ''}`;
  const what = name ? `${name} (${label})` : label;
  const fail = (problem: string): InvalidRequestError => new InvalidRequestError(`${what}: ${problem}`);
  const { image } = file;
  const directory = image.getFileDirectory();
  try {
    const samplesPerPixel = image.getSamplesPerPixel();
    if (reference.band > samplesPerPixel) {
      throw fail(`the file has ${samplesPerPixel} band${samplesPerPixel === 1 ? '' : 's'}, so there is no band ${reference.band}`);
    }
    const sample = reference.band - 1;
    const width = image.getWidth();
    const height = image.getHeight();
    if (width <= 0 || height <= 0) throw fail(`the image has no pixels (${width}×${height})`);

    const bitsPerSample = numbers(await directory.loadValue('BitsPerSample'));
    const formats = numbers(await directory.loadValue('SampleFormat'));
    const sampleFormats = bitsPerSample.map((_, i) => formats[i] ?? formats[0] ?? 1);
    const sampleType = sampleTypeOf(sampleFormats[sample] ?? 1, bitsPerSample[sample] ?? 0, fail);

    const geoKeys = inherited ? null : image.getGeoKeys();
    const transform = inherited ? inherited.transform : await readTransform(image, geoKeys, fail);
    const epsg = inherited ? inherited.epsg : readEpsg(geoKeys, fail);

    const compression = Number(await directory.loadValue('Compression')) || 1;
    const predictor = Number(await directory.loadValue('Predictor')) || 1;
    return {
      reference,
      label,
      file,
      sample,
      width,
      height,
      transform,
      epsg,
      nodata: inherited ? inherited.nodata : image.getGDALNoData(),
      sampleType,
      samplesPerPixel,
      bitsPerSample,
      sampleFormats,
      layout: { tiled: image.isTiled, blockWidth: image.getTileWidth(), blockHeight: image.getTileHeight() },
      compression,
      predictor,
      planarConfiguration: image.planarConfiguration,
      littleEndian: image.littleEndian,
    };
  } catch (error) {
    if (error instanceof InvalidRequestError) throw error;
    throw new SourceReadError(`${what}: cannot read the image's metadata: ${messageOf(error)}`, { cause: error });
  }
}

/** Opens one band on its own (its file is not shared): parse, open, describe. */
export async function openBandSource(
  reference: BandReference,
  options: { name?: string; open?: TiffOpener; signal?: AbortSignal; retry?: RetryPolicy } = {},
): Promise<BandSource> {
  const shown = withoutQuery(reference.uri);
  const what = `${options.name ? `${options.name} (band ${reference.band} of "${shown}")` : `band ${reference.band} of "${shown}"`}`;
  const file = await openTiff(reference.uri, { ...options, what });
  try {
    return await describeBand(file, reference, options.name);
  } catch (error) {
    await closeTiff(file);
    throw error;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function closeQuietly(tiff: GeoTIFF): Promise<void> {
  try {
    await tiff.close();
  } catch {
    // closing a file that failed to open (or a remote source) has nothing to release
  }
}
