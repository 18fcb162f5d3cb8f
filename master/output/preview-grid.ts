/**
 * The small grid a web preview is made from: each index's codes at every `step`-th column of every
 * `step`-th row of the mosaic, put together from the samples workers return with their strips
 * (shared/raster/preview-sample.ts). The master never decodes a mosaic pixel for it: it only places
 * bytes the workers sampled. A sample of the wrong size is the worker's fault (check throws).
 */
import { TesseraError } from '../../shared/errors.js';
import { previewSampling, previewShape, type PreviewSampling } from '../../shared/raster/preview-sample.js';
import type { IndexName } from '../../shared/types.js';
import type { OutputGrid } from './georeference.js';

/** A preview's long side, in pixels. */
export const PREVIEW_MAX_SIDE = 2048;

/** The sampling step that brings the grid's long side to PREVIEW_MAX_SIDE or below. */
export function previewStepFor(grid: Pick<OutputGrid, 'width' | 'height'>, maxSide = PREVIEW_MAX_SIDE): number {
  return Math.max(1, Math.ceil(Math.max(grid.width, grid.height) / maxSide));
}

export class PreviewGrid {
  readonly step: number;
  readonly width: number;
  readonly height: number;
  readonly #gridWidth: number;
  readonly #codes = new Map<IndexName, Uint8Array>();
  /** Sampled rows filled so far (the preview is whole only when every strip came in). */
  #rowsFilled = 0;

  constructor(grid: Pick<OutputGrid, 'width' | 'height'>, indices: readonly IndexName[], step = previewStepFor(grid)) {
    this.step = step;
    this.#gridWidth = grid.width;
    this.width = Math.ceil(grid.width / step);
    this.height = Math.ceil(grid.height / step);
    for (const index of indices) this.#codes.set(index, new Uint8Array(this.width * this.height));
  }

  /** How the strip whose first row is `top` is sampled. */
  sampling(top: number): PreviewSampling {
    return previewSampling(this.step, top);
  }

  /** The strip's samples, by index, checked for size; throws a TesseraError naming what is wrong. */
  check(strip: { top: number; rows: number }, tiles: ReadonlyArray<{ index: string; preview?: Uint8Array }>): Map<IndexName, Uint8Array> {
    const shape = previewShape(this.#gridWidth, strip.rows, this.sampling(strip.top));
    const expected = shape.width * shape.rows;
    const samples = new Map<IndexName, Uint8Array>();
    for (const tile of tiles) {
      const index = tile.index as IndexName;
      if (!this.#codes.has(index)) continue; // the pipeline refuses unknown indices itself
      const length = tile.preview?.length ?? 0;
      if (length !== expected) throw new TesseraError(`${tile.index}: a preview sample of ${length} bytes, expected ${expected} (${shape.width} × ${shape.rows})`);
      samples.set(index, tile.preview!);
    }
    return samples;
  }

  /** Places a checked strip's samples. */
  add(strip: { top: number; rows: number }, samples: ReadonlyMap<IndexName, Uint8Array>): void {
    const sampling = this.sampling(strip.top);
    const shape = previewShape(this.#gridWidth, strip.rows, sampling);
    const firstRow = (strip.top + sampling.firstRow) / this.step;
    for (const [index, sample] of samples) this.#codes.get(index)?.set(sample, firstRow * this.width);
    this.#rowsFilled += shape.rows;
  }

  /** Every sampled row is in. */
  get complete(): boolean {
    return this.#rowsFilled >= this.height;
  }

  /** One index's grid of codes (0: no-data), row after row. */
  codes(index: IndexName): Uint8Array | undefined {
    return this.#codes.get(index);
  }
}
