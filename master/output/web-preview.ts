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
import type { IndexName } from '../../shared/types.js';
import { colourRamp } from './colour-ramp.js';
import { encodeIndexedPng } from './indexed-png.js';
import { crsProj4, gridBounds, type OutputGrid } from './georeference.js';
import type { ManifestPreview } from './manifest.js';
import { PREVIEW_MAX_SIDE, type PreviewGrid } from './preview-grid.js';

/** Output pixels between exactly transformed lattice nodes. */
const LATTICE = 16;
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
 * For every output pixel, the index into the preview grid of the code it shows, or −1 (outside
 * the mosaic). The same for every index of a request, so it is computed once.
 */
export function previewLookup(grid: OutputGrid, previews: Pick<PreviewGrid, 'width' | 'height' | 'step'>, frame: PreviewFrame): Int32Array {
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
  const lookup = new Int32Array(frame.width * frame.height).fill(-1);
  const { width: gridWidth, height: gridHeight } = grid;
  const { width: samplesAcross, height: samplesDown, step } = previews;
  // Bilinear between the four nodes of the pixel's lattice cell (top and bottom edges at fx, then
  // between them at fy), with the nodes and the cell's width read once per cell and row.
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
      const [c00, c01, c10, c11] = [nodeCol[at]!, nodeCol[at + 1]!, nodeCol[at + nodesX]!, nodeCol[at + nodesX + 1]!];
      const [r00, r01, r10, r11] = [nodeRow[at]!, nodeRow[at + 1]!, nodeRow[at + nodesX]!, nodeRow[at + nodesX + 1]!];
      for (let i = x0; i < x0 + cellWidth; i++) {
        const fx = (i + 0.5 - x0) / cellWidth;
        const colTop = c00 + (c01 - c00) * fx;
        const col = colTop + (c10 + (c11 - c10) * fx - colTop) * fy;
        const rowTop = r00 + (r01 - r00) * fx;
        const row = rowTop + (r10 + (r11 - r10) * fx - rowTop) * fy;
        if (!(col >= 0 && col < gridWidth && row >= 0 && row < gridHeight)) continue;
        const sx = Math.min(Math.round(Math.floor(col) / step), samplesAcross - 1);
        const sy = Math.min(Math.round(Math.floor(row) / step), samplesDown - 1);
        lookup[rowOut + i] = sy * samplesAcross + sx;
      }
    }
  }
  return lookup;
}

/** Writes one preview per index into `folder`; resolves to the manifest's entries. */
export async function writeWebPreviews(folder: string, grid: OutputGrid, previews: PreviewGrid, indices: readonly IndexName[]): Promise<Partial<Record<IndexName, ManifestPreview>>> {
  const frame = previewFrame(grid, previews);
  const lookup = previewLookup(grid, previews, frame);
  const written = await Promise.all(
    indices.map(async (index): Promise<[IndexName, ManifestPreview] | undefined> => {
      const codes = previews.codes(index);
      if (!codes) return undefined;
      const shown = new Uint8Array(frame.width * frame.height); // zero: no-data, transparent
      for (let p = 0; p < lookup.length; p++) {
        const at = lookup[p]!;
        if (at >= 0) shown[p] = codes[at]!;
      }
      const file = `${index}_preview.png`;
      await writeFile(join(folder, file), await encodeIndexedPng(shown, frame.width, frame.height, colourRamp(index)));
      return [index, { file, width: frame.width, height: frame.height, crs: 'EPSG:3857', latLngBounds: frame.latLngBounds }];
    }),
  );
  return Object.fromEntries(written.filter((entry) => entry !== undefined));
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
): Promise<Partial<Record<IndexName, ManifestPreview>> | undefined> {
  if (!previews) return undefined;
  if (!previews.complete) {
    log.warn('no web preview: samples of some strips are missing');
    return undefined;
  }
  try {
    return await writeWebPreviews(folder, grid, previews, indices);
  } catch (error) {
    log.warn({ error: describeError(error) }, 'no web preview: it could not be written');
    return undefined;
  }
}
