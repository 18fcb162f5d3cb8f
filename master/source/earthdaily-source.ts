/**
 * Opens a box of an EarthDaily mosaic — one multi-band cloud-optimized GeoTIFF behind a (possibly
 * signed) URL — as a BandSet the ordinary tile plan and tile reader work on. The request is checked
 * before any network access; then only the header and, later, the blocks of the level the box
 * needs are read with HTTP range requests. The output grid is north-up in the mosaic's own CRS,
 * snapped to a lattice anchored at the mosaic's origin with the requested pixel size, covering the
 * box's envelope (clipped to the mosaic). The bands are read from the coarsest overview whose pixels
 * are no larger than the output pixels (so no detail is lost), else from full resolution; the tile
 * reader resamples them by nearest neighbour.
 */
import type { GeoTIFFImage } from 'geotiff';
import { InvalidRequestError } from '../../shared/errors.js';
import { INDEX_NAMES, type BandName, type BoundingBox, type CustomExpression, type IndexName } from '../../shared/types.js';
import { bandsOfOutput } from '../../shared/request/needed-bands.js';
import { withoutQuery } from '../../shared/urls.js';
import type { BandSet, NamedBandSource } from './band-set.js';
import { closeTiff, describeBand, openTiff, type BandSource, type InheritedGeoreference, type OpenedTiff } from './band-source.js';
import { sumFetched } from './fetch-meter.js';
import type { RetryPolicy, TiffOpener } from './geotiff-opener.js';
import { boxEnvelope, crsTransform, describeBounds, describeBox, envelopeBounds } from './crs-transform.js';
import { chooseLevel, floorish, outputPixelSize, overviewTransform, planBoxGrid, type MosaicLevel } from './earthdaily-grid.js';

/** What a request asks of the mosaic. */
export interface EarthDailyInput {
  /** The mosaic (http(s) URL, may be signed; a local path works too). */
  readonly url: string;
  /** WGS84 degrees: upper-left and lower-right corners. */
  readonly bbox: BoundingBox;
  /** Output pixel size in metres (see outputPixelSize). */
  readonly resolution: number;
  /** The bands to read, with their 1-based band numbers in the mosaic. */
  readonly bands: readonly { readonly name: BandName; readonly band: number }[];
  /** The indices asked for, named when a band they need is missing (default: every index that reads it). */
  readonly indices?: readonly IndexName[];
  /** The request's expression, when `indices` holds expr. */
  readonly expression?: CustomExpression | undefined;
}

export interface EarthDailyOptions {
  /** Largest box side in degrees (MAX_BBOX_DEG). */
  readonly maxBboxDeg: number;
  /** Largest output grid, width × height (MAX_REQUEST_PIXELS). */
  readonly maxPixels: number;
  readonly open?: TiffOpener;
  readonly signal?: AbortSignal;
  /** Retries of range requests (default DEFAULT_RETRY). */
  readonly retry?: RetryPolicy;
}

export interface EarthDailyBandSet extends BandSet {
  /** The box as requested (WGS84 degrees). */
  readonly box: BoundingBox;
  /** The mosaic's URL without its query string (a signed URL's signature stays out of records). */
  readonly sourceUrl: string;
  /** The image the bands are read from: 0 = full resolution, i ≥ 1 = the file's i-th image (an overview). */
  readonly overview: number;
  /** Whether the box reached past the mosaic, so the grid covers only the part inside it. */
  readonly clipped: boolean;
}

const TIFF_MASK_SUBFILE = 4;

/**
 * Checks the request before anything is fetched: corner order and ranges, box size, resolution and
 * band numbers. Each problem is an InvalidRequestError saying what to change.
 */
export function validateEarthDailyInput(input: EarthDailyInput, options: Pick<EarthDailyOptions, 'maxBboxDeg'>): void {
  const { bbox: box } = input;
  const fields: Array<[string, number, number]> = [
    ['ul_lat', box.ulLat, 90],
    ['ul_lng', box.ulLng, 180],
    ['lr_lat', box.lrLat, 90],
    ['lr_lng', box.lrLng, 180],
  ];
  for (const [field, value, limit] of fields) {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new InvalidRequestError(`${field} must be a number of degrees, got ${String(value)}`);
    if (Math.abs(value) > limit) {
      throw new InvalidRequestError(`${field} ${value} is not a ${limit === 90 ? 'latitude' : 'longitude'}: it must lie from −${limit} to ${limit} degrees`);
    }
  }
  if (!(box.ulLat > box.lrLat)) {
    throw new InvalidRequestError(
      `the corners are in the wrong order: the upper-left corner must be north of the lower-right one, but ul_lat ${box.ulLat} ≤ lr_lat ${box.lrLat}; ` +
        'swap ul_lat and lr_lat (ul = north-west corner, lr = south-east corner)',
    );
  }
  if (!(box.ulLng < box.lrLng)) {
    throw new InvalidRequestError(
      `the corners are in the wrong order: the upper-left corner must be west of the lower-right one, but ul_lng ${box.ulLng} ≥ lr_lng ${box.lrLng}; ` +
        'swap ul_lng and lr_lng (boxes across the antimeridian are not supported: split them in two)',
    );
  }
  const width = box.lrLng - box.ulLng;
  const height = box.ulLat - box.lrLat;
  const max = options.maxBboxDeg;
  if (width > max * (1 + 1e-12) || height > max * (1 + 1e-12)) {
    const r = (n: number): number => Math.round(n * 1e6) / 1e6;
    throw new InvalidRequestError(
      `the box is ${r(width)}° wide and ${r(height)}° tall; at most ${max}° a side is allowed (MAX_BBOX_DEG): request a smaller box, or several`,
    );
  }
  const { resolution } = input;
  if (typeof resolution !== 'number' || !Number.isFinite(resolution) || resolution <= 0) {
    throw new InvalidRequestError(`resolution must be a positive number of metres (the output pixel size), got ${String(resolution)}`);
  }
  if (input.bands.length === 0) throw new InvalidRequestError('no bands given: name at least the bands the indices need');
  const seen = new Set<string>();
  for (const { name, band } of input.bands) {
    if (seen.has(name)) throw new InvalidRequestError(`band "${name}" is given twice`);
    seen.add(name);
    if (!Number.isSafeInteger(band) || band < 1) throw new InvalidRequestError(`${name}: band number must be a positive integer (1 = the mosaic's first band), got ${String(band)}`);
  }
  if (input.url.trim() === '') throw new InvalidRequestError('the mosaic URL is empty');
}

/**
 * Validates the request, opens the mosaic (header only), plans the grid and picks the level. Fails
 * with InvalidRequestError for a bad box or resolution (before any network access), a box outside
 * the mosaic, a grid over `maxPixels`, an unsupported CRS or a band the mosaic lacks; with
 * SourceReadError when the URL is refused, not found or unreachable (message without its query).
 */
export async function openEarthDailyBandSet(input: EarthDailyInput, options: EarthDailyOptions): Promise<EarthDailyBandSet> {
  validateEarthDailyInput(input, options);
  const file = await openTiff(input.url, { open: options.open, signal: options.signal, retry: options.retry, what: 'the EarthDaily mosaic' });
  try {
    return await planBandSet(input, options, file);
  } catch (error) {
    await closeTiff(file);
    throw error;
  }
}

async function planBandSet(input: EarthDailyInput, options: EarthDailyOptions, file: OpenedTiff): Promise<EarthDailyBandSet> {
  const { bbox: box } = input;
  checkBandNumbers(input, file.image.getSamplesPerPixel());

  // Georeferencing, from band 1 of the full-resolution image.
  const first = await describeBand(file, { uri: input.url, band: input.bands[0]!.band }, input.bands[0]!.name);
  const full: MosaicLevel = { index: 0, width: first.width, height: first.height, transform: first.transform };
  const crs = crsTransform(first.epsg);
  const farthest = Math.abs(box.ulLat) >= Math.abs(box.lrLat) ? box.ulLat : box.lrLat;
  if (Math.abs(farthest) > crs.maxLatitude) {
    throw new InvalidRequestError(
      `the box reaches latitude ${farthest}, but the mosaic's CRS (EPSG:${crs.epsg}, ${crs.name}) ` +
        `covers latitudes up to ±${Math.round(crs.maxLatitude * 1e4) / 1e4}°; move the box`,
    );
  }

  const envelope = boxEnvelope(box, crs);
  const pixel = outputPixelSize(input.resolution, crs, box);
  const planned = planBoxGrid(envelope, pixel, full, crs.epsg);
  if (!planned) {
    const t = full.transform;
    const extent = { minX: t.originX, maxX: t.originX + full.width * t.pixelWidth, minY: t.originY - full.height * t.pixelHeight, maxY: t.originY };
    throw new InvalidRequestError(
      `the box ${describeBox(box)} lies outside the mosaic, which covers ${describeBounds(envelopeBounds(extent, crs))} ` +
        `(EPSG:${crs.epsg} [${extent.minX}, ${extent.minY}, ${extent.maxX}, ${extent.maxY}]); move the box into it`,
    );
  }
  const { grid, clipped } = planned;
  const pixels = grid.width * grid.height;
  if (pixels > options.maxPixels) {
    const coarser = input.resolution * Math.sqrt(pixels / options.maxPixels);
    throw new InvalidRequestError(
      `the output would be ${grid.width} × ${grid.height} = ${pixels} pixels at ${input.resolution} m, more than the ${options.maxPixels} allowed ` +
        `(MAX_REQUEST_PIXELS); ask for a coarser resolution (at least ${roundUp(coarser)} m) or a smaller box`,
    );
  }

  const level = chooseLevel([full, ...(await overviewLevels(file, full))], pixel);
  const { image, inherited } =
    level.index === 0
      ? { image: file.image, inherited: undefined }
      : {
          image: await file.tiff.getImage(level.index),
          inherited: { transform: level.transform, epsg: first.epsg, nodata: first.nodata, level: `overview ${level.index}` } satisfies InheritedGeoreference,
        };
  const levelFile: OpenedTiff = level.index === 0 ? file : { ...file, image, key: `${file.key}#image${level.index}` };

  const described = new Map<number, Promise<BandSource>>();
  const bands = await Promise.all(
    input.bands.map(async ({ name, band }): Promise<NamedBandSource> => {
      let source = described.get(band);
      if (!source) {
        source =
          level.index === 0 && band === input.bands[0]!.band
            ? Promise.resolve(first)
            : describeBand(levelFile, { uri: input.url, band }, name, inherited);
        described.set(band, source);
      }
      return { name, source: await source };
    }),
  );
  const reference = bands[0]!;
  const t = reference.source.transform;
  return {
    bands,
    grid,
    reference,
    referenceOffset: {
      column: floorish((grid.originX - t.originX) / t.pixelWidth),
      row: floorish((t.originY - grid.originY) / t.pixelHeight),
    },
    box,
    sourceUrl: withoutQuery(input.url),
    overview: level.index,
    clipped,
    fetched: () => sumFetched([file.meter]),
    close: () => closeTiff(file),
  };
}

/** A band number past the file's bands fails, naming what the mosaic has and which index needs the band. */
function checkBandNumbers(input: EarthDailyInput, samplesPerPixel: number): void {
  const missing = input.bands.find((b) => b.band > samplesPerPixel);
  if (!missing) return;
  const present = input.bands.filter((b) => b.band <= samplesPerPixel).sort((a, b) => a.band - b.band);
  const known = present.length > 0 ? ` (${present.map((b) => `${b.name}=${b.band}`).join(', ')} by the band layout)` : '';
  const needs = (input.indices ?? INDEX_NAMES).filter((index) => bandsOfOutput(index, input.expression).includes(missing.name));
  throw new InvalidRequestError(
    `${needs.length > 0 ? `${needs.join(' and ')} need${needs.length === 1 ? 's' : ''} ${missing.name}, but ` : ''}` +
      `the mosaic has ${samplesPerPixel} band${samplesPerPixel === 1 ? '' : 's'}${known}, so there is no band ${missing.band} for ${missing.name}; ` +
      `use a mosaic that has ${missing.name}, correct its band number in the band layout, or drop ${needs.length > 0 ? needs.join(' and ') : missing.name}`,
  );
}

/** The file's reduced-resolution images (not masks, same bands), with geotransforms derived from image 0. */
async function overviewLevels(file: OpenedTiff, full: MosaicLevel): Promise<MosaicLevel[]> {
  const count = await file.tiff.getImageCount();
  const levels: MosaicLevel[] = [];
  const samples = file.image.getSamplesPerPixel();
  for (let index = 1; index < count; index++) {
    const image: GeoTIFFImage = await file.tiff.getImage(index);
    const subfile = Number(await image.getFileDirectory().loadValue('NewSubfileType')) || 0;
    if ((subfile & TIFF_MASK_SUBFILE) !== 0 || image.getSamplesPerPixel() !== samples) continue;
    const width = image.getWidth();
    const height = image.getHeight();
    if (width <= 0 || height <= 0 || width > full.width || height > full.height) continue;
    levels.push({ index, width, height, transform: overviewTransform(full, width, height) });
  }
  return levels;
}

/** Rounds up to 2 significant digits, for suggestions in messages. */
function roundUp(value: number): number {
  const magnitude = 10 ** (Math.floor(Math.log10(value)) - 1);
  return Number((Math.ceil(value / magnitude) * magnitude).toPrecision(2));
}
