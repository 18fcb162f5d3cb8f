/**
 * Writes `<index>_preview.png` for each index from its PreviewGrid: reprojected from the mosaic's
 * CRS to Web Mercator (EPSG:3857) by nearest neighbour, an indexed PNG with the index's ramp as
 * its palette (indexed-png.ts), no-data (and everything outside the mosaic) transparent, at most
 * PREVIEW_MAX_SIDE px on its long side. Returns the manifest's `preview` entries: the file and its lat/lng bounds, the outer edges of
 * the Mercator envelope of the mosaic's bounds (densified along its edges, as lines of constant
 * easting curve), so that Leaflet's L.imageOverlay(url, latLngBounds) lands it where it belongs.
 *
 * Each output pixel centre is taken back to the mosaic's grid exactly at the nodes of a lattice every
 * LATTICE output pixels and bilinearly between them (as GDAL's approximate transformer does; over a
 * lattice cell of a UTM scene the error is far below a pixel), then to the nearest sampled code.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import proj4 from 'proj4';
import { TesseraError, describeError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { edgePoints, proj4Definition, WEB_MERCATOR_MAX_LATITUDE } from '../source/crs-transform.js';
import type { StripDeflater } from '../../shared/png/strip-deflater.js';
import type { IndexName } from '../../shared/types.js';
import { colourRamp } from './colour-ramp.js';
import { encodeIndexedPng } from './indexed-png.js';
import { crsProj4, gridBounds, type OutputGrid } from './georeference.js';
import type { ManifestPreview } from './manifest.js';
import { PREVIEW_MAX_SIDE, type PreviewGrid } from './preview-grid.js';

/**
 * Output pixels between exactly transformed lattice nodes. 32 rather than 16: a quarter of the
 * proj4 calls (about 25 ms less of the master's CPU on a full scene's 1825 × 1830 preview,
 * 2026-12-03), and against an exact transform of every pixel 0.045 % of that preview's pixels
 * pick a neighbouring sample (0.010 % at 16): nearest-neighbour ties at sample edges.
 */
const LATTICE = 32;
/** Points per mosaic edge when finding its Mercator envelope. */
const EDGE_POINTS = 64;

/** Where the preview lies in Web Mercator, its size, and its lat/lng bounds. */
export interface PreviewFrame {
  readonly minX: number;
  readonly maxY: number;
  /** Mercator metres per output pixel, across and down. */
  readonly pixelX: number;
  readonly pixelY: number;
  readonly width: number;
  readonly height: number;
  readonly latLngBounds: ManifestPreview['latLngBounds'];
}

/** The mosaic's CRS → Web Mercator and back, through WGS84 longitude/latitude. */
interface ToMercator {
  forward(xy: readonly [number, number]): [number, number];
  inverse(xy: readonly [number, number]): [number, number];
}

const WGS84 = '+proj=longlat +datum=WGS84 +no_defs';

/** The mosaic's CRS to Web Mercator; a TesseraError when no proj4 definition of its EPSG code is known. */
export function toMercator(epsg: number): ToMercator {
  const definition = proj4Definition(epsg)?.definition ?? crsProj4(epsg);
  if (!definition) throw new TesseraError(`EPSG:${epsg}: no proj4 definition known, so no web preview`);
  const source = proj4(WGS84, definition);
  const mercator = proj4(WGS84, proj4Definition(3857)!.definition);
  return {
    forward: (xy) => mercator.forward<[number, number]>(clampLatitude(source.inverse<[number, number]>([xy[0], xy[1]]))),
    inverse: (xy) => source.forward<[number, number]>(mercator.inverse<[number, number]>([xy[0], xy[1]])),
  };
}

export function previewFrame(grid: OutputGrid, previews: Pick<PreviewGrid, 'width' | 'height'>, maxSide = PREVIEW_MAX_SIDE): PreviewFrame {
  const project = toMercator(grid.epsg);
  const toLngLat = proj4(WGS84, proj4Definition(3857)!.definition);
  const b = gridBounds(grid);
  const points = edgePoints(b.minX, b.minY, b.maxX, b.maxY, EDGE_POINTS).map((p) => project.forward(p));
  const xs = points.map(([x]) => x);
  const ys = points.map(([, y]) => y);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const long = Math.min(maxSide, Math.max(previews.width, previews.height));
  const size = Math.max(maxX - minX, maxY - minY) / long;
  const width = Math.max(1, Math.round((maxX - minX) / size));
  const height = Math.max(1, Math.round((maxY - minY) / size));
  const [west, south] = toLngLat.inverse<[number, number]>([minX, minY]);
  const [east, north] = toLngLat.inverse<[number, number]>([maxX, maxY]);
  return { minX, maxY, pixelX: (maxX - minX) / width, pixelY: (maxY - minY) / height, width, height, latLngBounds: [[south, west], [north, east]] };
}

/**
 * Each index's codes as the preview shows them: for every output pixel, the sampled code nearest to
 * where its centre falls on the mosaic, or 0 (no-data, transparent) outside the mosaic. The pixel
 * positions are found once for all indices.
 *
 * Written for speed, since the master does it at the end of every request (a 10980² scene's previews
 * are 1830² px each): within a lattice cell the mosaic position is linear along a row, so it is
 * stepped rather than interpolated afresh; mosaic column and row → sample come from two small tables;
 * and the codes are copied straight into the outputs, with no per-pixel lookup array in between.
 * 2026-12-02, that scene, NDVI + NDSI, in profiles of the master: about 110 ms of CPU before, 58-69 ms after.
 */
export function reprojectCodes(
  grid: OutputGrid,
  previews: Pick<PreviewGrid, 'width' | 'height' | 'step'>,
  frame: PreviewFrame,
  sources: readonly Uint8Array[],
): Uint8Array[] {
  const project = toMercator(grid.epsg);
  const nodesX = Math.ceil(frame.width / LATTICE) + 1;
  const nodesY = Math.ceil(frame.height / LATTICE) + 1;
  // Continuous mosaic pixel coordinates (column, row) at the lattice nodes.
  const nodeCol = new Float64Array(nodesX * nodesY);
  const nodeRow = new Float64Array(nodesX * nodesY);
  for (let ny = 0; ny < nodesY; ny++) {
    for (let nx = 0; nx < nodesX; nx++) {
      const [col, row] = toMosaicPixel(grid, project, frame, Math.min(nx * LATTICE, frame.width), Math.min(ny * LATTICE, frame.height));
      nodeCol[ny * nodesX + nx] = col;
      nodeRow[ny * nodesX + nx] = row;
    }
  }
  const tables: SampleTables = { gridWidth: grid.width, gridHeight: grid.height, ...sampleTables(grid, previews) };
  const outputs = sources.map(() => new Uint8Array(frame.width * frame.height)); // zero: no-data
  for (let j = 0; j < frame.height; j++) {
    const v = j + 0.5;
    const ny = Math.min(Math.floor(v / LATTICE), nodesY - 2);
    const y0 = ny * LATTICE;
    const fy = (v - y0) / (Math.min(y0 + LATTICE, frame.height) - y0);
    const rowOut = j * frame.width;
    for (let nx = 0; nx <= nodesX - 2; nx++) {
      const x0 = nx * LATTICE;
      const cellWidth = Math.min(x0 + LATTICE, frame.width) - x0;
      const at = ny * nodesX + nx;
      // The cell's left and right edges at this row (bilinear in fy), then linear between them.
      const colLeft = nodeCol[at]! + (nodeCol[at + nodesX]! - nodeCol[at]!) * fy;
      const colRight = nodeCol[at + 1]! + (nodeCol[at + nodesX + 1]! - nodeCol[at + 1]!) * fy;
      const rowLeft = nodeRow[at]! + (nodeRow[at + nodesX]! - nodeRow[at]!) * fy;
      const rowRight = nodeRow[at + 1]! + (nodeRow[at + nodesX + 1]! - nodeRow[at + 1]!) * fy;
      const colStep = (colRight - colLeft) / cellWidth;
      const rowStep = (rowRight - rowLeft) / cellWidth;
      const span: Span = { from: rowOut + x0, to: rowOut + x0 + cellWidth, col: colLeft + colStep * 0.5, row: rowLeft + rowStep * 0.5, colStep, rowStep };
      if (outputs.length === 2) copySpan(span, tables, outputs[0]!, sources[0]!, outputs[1]!, sources[1]!);
      else for (let k = 0; k < outputs.length; k++) copySpan(span, tables, outputs[k]!, sources[k]!, undefined, undefined);
    }
  }
  return outputs;
}

/** One lattice cell's stretch of an output row: pixels [from, to), the mosaic position of the first and its step. */
interface Span {
  readonly from: number;
  readonly to: number;
  readonly col: number;
  readonly row: number;
  readonly colStep: number;
  readonly rowStep: number;
}

/** The mosaic's size and its column / row → sample tables. */
interface SampleTables {
  readonly gridWidth: number;
  readonly gridHeight: number;
  readonly sampleOfColumn: Int32Array;
  readonly sampleRowStart: Int32Array;
}

/**
 * Copies the nearest samples along `span` into one or two outputs (two: NDVI and NDSI, the common
 * request, in one pass). A loop of its own, over plain typed arrays, so V8 optimises it on the first
 * preview: with the outputs in an array indexed per pixel it ran 64 ms warm and about twice that
 * the one time a master runs it (2026-12-03, 1825 × 1830 px, two indices).
 */
function copySpan(span: Span, tables: SampleTables, out0: Uint8Array, src0: Uint8Array, out1: Uint8Array | undefined, src1: Uint8Array | undefined): void {
  const { gridWidth, gridHeight, sampleOfColumn, sampleRowStart } = tables;
  const { to, colStep, rowStep } = span;
  let { col, row } = span;
  for (let p = span.from; p < to; p++, col += colStep, row += rowStep) {
    if (!(col >= 0 && col < gridWidth && row >= 0 && row < gridHeight)) continue;
    const sample = sampleRowStart[row | 0]! + sampleOfColumn[col | 0]!;
    out0[p] = src0[sample]!;
    if (out1 !== undefined) out1[p] = src1![sample]!;
  }
}

/**
 * Mosaic column → the sample column nearest it, and mosaic row → where the nearest sample row starts
 * in the preview grid (the grid holds every `step`-th column of every `step`-th row).
 */
function sampleTables(grid: Pick<OutputGrid, 'width' | 'height'>, previews: Pick<PreviewGrid, 'width' | 'height' | 'step'>): { sampleOfColumn: Int32Array; sampleRowStart: Int32Array } {
  const { width: samplesAcross, height: samplesDown, step } = previews;
  const sampleOfColumn = new Int32Array(grid.width);
  for (let c = 0; c < grid.width; c++) sampleOfColumn[c] = Math.min(Math.round(c / step), samplesAcross - 1);
  const sampleRowStart = new Int32Array(grid.height);
  for (let r = 0; r < grid.height; r++) sampleRowStart[r] = Math.min(Math.round(r / step), samplesDown - 1) * samplesAcross;
  return { sampleOfColumn, sampleRowStart };
}

/** Writes one preview per index into `folder`, compressed by `deflater` (node:zlib's unless told); resolves to the manifest's entries. */
export async function writeWebPreviews(folder: string, grid: OutputGrid, previews: PreviewGrid, indices: readonly IndexName[], deflater?: StripDeflater): Promise<Partial<Record<IndexName, ManifestPreview>>> {
  const frame = previewFrame(grid, previews);
  const shown = indices.flatMap((index) => {
    const codes = previews.codes(index);
    return codes ? [{ index, codes }] : [];
  });
  const reprojected = reprojectCodes(grid, previews, frame, shown.map(({ codes }) => codes));
  const written = await Promise.all(
    shown.map(async ({ index }, k): Promise<[IndexName, ManifestPreview]> => {
      const file = `${index}_preview.png`;
      await writeFile(join(folder, file), await encodeIndexedPng(reprojected[k]!, frame.width, frame.height, colourRamp(index), deflater));
      return [index, { file, width: frame.width, height: frame.height, crs: 'EPSG:3857', latLngBounds: frame.latLngBounds }];
    }),
  );
  return Object.fromEntries(written);
}

/** An output pixel position (i, j: 0 at its left/top edge) → continuous mosaic pixel (column, row). */
function toMosaicPixel(grid: OutputGrid, project: ToMercator, frame: PreviewFrame, i: number, j: number): [number, number] {
  const [x, y] = project.inverse([frame.minX + i * frame.pixelX, frame.maxY - j * frame.pixelY]);
  return [(x - grid.originX) / grid.pixelWidth, (grid.originY - y) / grid.pixelHeight];
}

function clampLatitude([lng, lat]: readonly [number, number]): [number, number] {
  return [lng, Math.max(-WEB_MERCATOR_MAX_LATITUDE, Math.min(WEB_MERCATOR_MAX_LATITUDE, lat))];
}

/**
 * writeWebPreviews for a run about to publish: undefined, with a warning, when there is no whole
 * preview grid (a resumed run lacks the samples of the strips it took over) or writing fails. A
 * preview is for looking at; its absence never fails a request.
 */
export async function tryWriteWebPreviews(
  folder: string,
  grid: OutputGrid,
  previews: PreviewGrid | undefined,
  indices: readonly IndexName[],
  log: Logger,
  deflater?: StripDeflater,
): Promise<Partial<Record<IndexName, ManifestPreview>> | undefined> {
  if (!previews) return undefined;
  if (!previews.complete) {
    log.warn('no web preview: samples of some strips are missing');
    return undefined;
  }
  try {
    return await writeWebPreviews(folder, grid, previews, indices, deflater);
  } catch (error) {
    log.warn({ error: describeError(error) }, 'no web preview: it could not be written');
    return undefined;
  }
}
