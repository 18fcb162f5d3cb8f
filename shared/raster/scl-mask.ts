/**
 * The SCL cloud mask of a tile: for each output pixel, the Sentinel-2 Scene Classification class
 * under it (the scl band resampled by the master's nearest-neighbour lookups, like every other 20 m band), and
 * whether that class is one of those to mask. A pixel outside the scl band, or whose sample is not
 * a class number (0…255), is not masked.
 */
import type { BandSamples } from './index-math.js';

export interface SclMaskTile {
  /** width × height: 1 where the pixel is masked, else 0. */
  readonly mask: Uint8Array;
  /** How many pixels are masked. */
  readonly masked: number;
}

export function computeSclMask(scl: BandSamples, classes: readonly number[], width: number, height: number): SclMaskTile {
  if (scl.columns.length !== width || scl.rows.length !== height) {
    throw new Error(`scl mask: lookups are ${scl.columns.length}x${scl.rows.length}, tile is ${width}x${height}`);
  }
  const masking = new Uint8Array(256);
  for (const value of classes) if (Number.isInteger(value) && value >= 0 && value < 256) masking[value] = 1;
  const mask = new Uint8Array(width * height);
  let masked = 0;
  for (let j = 0; j < height; j++) {
    const row = scl.rows[j] as number;
    if (row < 0) continue;
    const base = row * scl.windowWidth;
    for (let i = 0; i < width; i++) {
      const column = scl.columns[i] as number;
      if (column < 0) continue;
      const value = scl.values[base + column] as number;
      if (value >= 0 && value < 256 && Number.isInteger(value) && masking[value] === 1) {
        mask[j * width + i] = 1;
        masked++;
      }
    }
  }
  return { mask, masked };
}
