/**
 * The web preview's sampling, shared by the worker (which takes it from a strip's codes) and the
 * master (which checks and places it): every `step`-th code of every `step`-th row of the mosaic, so
 * a strip starting at mosaic row y0 samples its rows from (step − y0 mod step) mod step on. Nearest
 * neighbour by construction: a code is copied, never blended.
 */

/** How a strip of `rows` rows starting at mosaic row `y0` is sampled for a preview taken every `step`. */
export interface PreviewSampling {
  readonly step: number;
  /** The strip's first row to sample. */
  readonly firstRow: number;
}

export function previewSampling(step: number, y0: number): PreviewSampling {
  return { step, firstRow: (step - (y0 % step)) % step };
}

/** The samples of a strip: its width and its number of rows in the preview. */
export function previewShape(width: number, rows: number, { step, firstRow }: PreviewSampling): { width: number; rows: number } {
  return { width: Math.ceil(width / step), rows: firstRow >= rows ? 0 : Math.ceil((rows - firstRow) / step) };
}

/** The sampled codes of a `width` × `rows` strip, row after row. */
export function samplePreview(codes: Uint8Array, width: number, rows: number, sampling: PreviewSampling): Uint8Array {
  const shape = previewShape(width, rows, sampling);
  const out = new Uint8Array(shape.width * shape.rows);
  let o = 0;
  for (let y = sampling.firstRow; y < rows; y += sampling.step) {
    const row = y * width;
    for (let x = 0; x < width; x += sampling.step) out[o++] = codes[row + x]!;
  }
  return out;
}
