/**
 * Opens and validates the named bands of one request: every band in one CRS, all overlapping,
 * and derives the output grid (the finest band's grid, cut to the bands' common extent). Each
 * file is opened once and shared by the bands read from it; the set reports what its http reads
 * fetched. Also says when strips can be aligned on the reference band's block rows.
 */
import { IncompatibleBandsError, InvalidRequestError } from '../../shared/errors.js';
import type { BandInput, SourceBandName } from '../../shared/types.js';
import { withoutQuery } from '../../shared/urls.js';
import type { OutputGrid } from '../output/georeference.js';
import { closeTiff, describeBand, fileKey, openTiff, type BandSource, type GeoTransform, type OpenedTiff } from './band-source.js';
import { sumFetched, type FetchCounts } from './fetch-meter.js';
import type { RetryPolicy, TiffOpener } from './geotiff-opener.js';
import type { ReferenceRows } from './strip-plan.js';
import { checkBandChoice } from './band-choice.js';

export type { OutputGrid } from '../output/georeference.js';

export interface NamedBandSource {
  readonly name: SourceBandName;
  readonly source: BandSource;
}

export interface BandSet {
  /** In the order given. Bands naming the same file and band number share one BandSource. */
  readonly bands: readonly NamedBandSource[];
  readonly grid: OutputGrid;
  /** The finest band, whose grid the output grid is. */
  readonly reference: NamedBandSource;
  /**
   * Column and row of the output grid's upper-left pixel in the reference band (rounded down when
   * the grid is resampled and its corner falls inside a reference pixel).
   */
  readonly referenceOffset: { readonly column: number; readonly row: number };
  /** HTTP requests sent and bytes received so far reading the set's files (0/0 for local files). */
  fetched(): FetchCounts;
  /** Closes every file the set opened. */
  close(): Promise<void>;
}

export interface BandSetOptions {
  readonly open?: TiffOpener;
  readonly signal?: AbortSignal;
  /** Retries of remote reads (default DEFAULT_RETRY). */
  readonly retry?: RetryPolicy;
}

/** Opens every band of `inputs` (files once each), validates them together and plans the grid. */
export async function openBandSet(inputs: readonly BandInput[], options: BandSetOptions = {}): Promise<BandSet> {
  if (inputs.length === 0) throw new InvalidRequestError('no bands given');
  const seen = new Set<string>();
  for (const input of inputs) {
    if (seen.has(input.name)) throw new InvalidRequestError(`band "${input.name}" is given twice`);
    seen.add(input.name);
  }

  // One open per file; every band using it is named if the open fails.
  const byFile = new Map<string, { uri: string; names: string[] }>();
  for (const input of inputs) {
    const key = fileKey(input.uri);
    const entry = byFile.get(key) ?? { uri: input.uri, names: [] };
    entry.names.push(input.name);
    byFile.set(key, entry);
  }
  const opened = await Promise.allSettled(
    [...byFile.values()].map(({ uri, names }) =>
      openTiff(uri, { open: options.open, signal: options.signal, retry: options.retry, what: `${names.join(', ')}` }),
    ),
  );
  const files = new Map<string, OpenedTiff>();
  for (const result of opened) if (result.status === 'fulfilled') files.set(result.value.key, result.value);
  const closeAll = async (): Promise<void> => {
    await Promise.all([...files.values()].map(closeTiff));
  };
  const failure = opened.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    await closeAll();
    throw failure.reason;
  }

  try {
    checkBandChoice(inputs, (uri) => {
      const file = files.get(fileKey(uri))!;
      return { key: file.key, bands: file.image.getSamplesPerPixel() };
    });
    // One description per file + band number.
    const described = new Map<string, Promise<BandSource>>();
    const bands = await Promise.all(
      inputs.map(async (input): Promise<NamedBandSource> => {
        const file = files.get(fileKey(input.uri))!;
        const key = `${file.key}#${input.band}`;
        let source = described.get(key);
        if (!source) {
          source = describeBand(file, { uri: input.uri, band: input.band }, input.name);
          described.set(key, source);
        }
        return { name: input.name, source: await source };
      }),
    );
    const { grid, reference, referenceOffset } = computeOutputGrid(bands);
    return { bands, grid, reference, referenceOffset, fetched: () => sumFetched([...files.values()].map((f) => f.meter)), close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/**
 * The output grid of a set of bands: all must share one EPSG code and overlap. The grid is the
 * finest band's (smallest pixel area; ties go to the first given), restricted to the pixels of
 * that band whose centres lie inside the intersection of all extents (left/top edges inclusive,
 * right/bottom exclusive).
 */
export function computeOutputGrid(bands: readonly NamedBandSource[]): {
  grid: OutputGrid;
  reference: NamedBandSource;
  referenceOffset: { column: number; row: number };
} {
  const first = bands[0];
  if (!first) throw new InvalidRequestError('no bands given');
  const crsOf = (b: NamedBandSource): string => `${b.name} EPSG:${b.source.epsg} (${withoutQuery(b.source.file.uri)})`;
  if (bands.some((b) => b.source.epsg !== first.source.epsg)) {
    throw new IncompatibleBandsError(
      `the bands are in different CRSs: ${bands.map(crsOf).join(', ')}; reproject them to one CRS first`,
    );
  }

  const extents = bands.map((b) => ({ band: b, ...extentOf(b.source) }));
  const left = Math.max(...extents.map((e) => e.left));
  const right = Math.min(...extents.map((e) => e.right));
  const top = Math.min(...extents.map((e) => e.top));
  const bottom = Math.max(...extents.map((e) => e.bottom));
  const describeExtents = (): string =>
    extents.map((e) => `${e.band.name} [${e.left}, ${e.bottom}, ${e.right}, ${e.top}] (${withoutQuery(e.band.source.file.uri)})`).join(', ');
  if (!(left < right) || !(bottom < top)) {
    throw new IncompatibleBandsError(`the bands do not overlap: ${describeExtents()} (extents as [minX, minY, maxX, maxY])`);
  }

  let reference = first;
  for (const band of bands) {
    const area = band.source.transform.pixelWidth * band.source.transform.pixelHeight;
    const best = reference.source.transform.pixelWidth * reference.source.transform.pixelHeight;
    if (area < best * (1 - 1e-9)) reference = band;
  }
  const t = reference.source.transform;
  // Pixel c's centre is at originX + (c + 0.5) · pixelWidth; keep left ≤ centre < right.
  const firstColumn = Math.max(0, ceilish((left - t.originX) / t.pixelWidth - 0.5));
  const endColumn = Math.min(reference.source.width, ceilish((right - t.originX) / t.pixelWidth - 0.5));
  const firstRow = Math.max(0, ceilish((t.originY - top) / t.pixelHeight - 0.5));
  const endRow = Math.min(reference.source.height, ceilish((t.originY - bottom) / t.pixelHeight - 0.5));
  if (endColumn <= firstColumn || endRow <= firstRow) {
    throw new IncompatibleBandsError(`the bands' common area holds no whole pixel of ${reference.name}: ${describeExtents()}`);
  }
  return {
    grid: {
      originX: t.originX + firstColumn * t.pixelWidth,
      originY: t.originY - firstRow * t.pixelHeight,
      pixelWidth: t.pixelWidth,
      pixelHeight: t.pixelHeight,
      width: endColumn - firstColumn,
      height: endRow - firstRow,
      epsg: reference.source.epsg,
    },
    reference,
    referenceOffset: { column: firstColumn, row: firstRow },
  };
}

/**
 * What planStrips needs to put strip edges on the reference band's block rows (tiles, or a striped
 * file's strips): undefined when (given the grid) output rows are not the reference band's rows —
 * another pixel size (resampled) or a corner off the band's pixel lattice — so blocks cannot line up.
 */
export function referenceRowsFor(
  bandSet: Pick<BandSet, 'reference' | 'referenceOffset'> & { readonly grid?: BandSet['grid'] },
): ReferenceRows | undefined {
  const { layout, transform } = bandSet.reference.source;
  if (bandSet.grid && !onPixelLattice(bandSet.grid, transform, bandSet.referenceOffset)) return undefined;
  return { height: layout.blockHeight, offsetY: bandSet.referenceOffset.row };
}

/** Whether the grid's pixels are the band's pixels, its corner at pixel (offset.column, offset.row). */
function onPixelLattice(grid: BandSet['grid'], t: GeoTransform, offset: BandSet['referenceOffset']): boolean {
  const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
  if (!close(grid.pixelWidth, t.pixelWidth) || !close(grid.pixelHeight, t.pixelHeight)) return false;
  const column = (grid.originX - t.originX) / t.pixelWidth;
  const row = (t.originY - grid.originY) / t.pixelHeight;
  return Math.abs(column - offset.column) < 1e-6 && Math.abs(row - offset.row) < 1e-6;
}

function extentOf(source: BandSource): { left: number; right: number; top: number; bottom: number } {
  const t = source.transform;
  return {
    left: t.originX,
    right: t.originX + source.width * t.pixelWidth,
    top: t.originY,
    bottom: t.originY - source.height * t.pixelHeight,
  };
}

/** Math.ceil that treats values within 1e-9 of an integer as that integer (float noise). */
function ceilish(value: number): number {
  const rounded = Math.round(value);
  return Math.abs(value - rounded) < 1e-9 ? rounded : Math.ceil(value);
}
