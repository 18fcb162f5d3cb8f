/**
 * Deterministic Sentinel-2-like uint16 bands for the kernel benchmarks: a base level, parcels (48-px
 * fields of their own reflectance), a smooth large-scale variation and ±120 DN triangular noise. At
 * zlib level 6 with predictor 2 a 1024² block compresses to ~1.34 bytes per pixel, like real 10 m bands.
 */
import { deflateSync } from 'node:zlib';
import { prng } from '../test/support/prng.js';

export function syntheticBand(width: number, height: number, seed: number): Uint16Array {
  const rand = prng(seed);
  const cell = 48;
  const across = Math.ceil(width / cell);
  const levels = Array.from({ length: across * Math.ceil(height / cell) }, () => 800 + Math.floor(rand() * 3000));
  const values = new Uint16Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const base = levels[Math.floor(y / cell) * across + Math.floor(x / cell)]!;
      const noise = Math.round((rand() + rand() - 1) * 120);
      values[y * width + x] = base + Math.round(200 * Math.sin(x / 90) * Math.cos(y / 70)) + noise;
    }
  }
  return values;
}

/** One stored DEFLATE (zlib level 6) + predictor 2 block of a band, as a GeoTIFF holds it. */
export function deflatePredicted(values: Uint16Array, width: number): Buffer {
  const differenced = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) differenced[i] = i % width === 0 ? values[i]! : values[i]! - values[i - 1]!;
  return deflateSync(new Uint8Array(differenced.buffer), { level: 6 });
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
