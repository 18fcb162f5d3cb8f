/**
 * Pixels of one band of a synthetic tile: the ground's parcel reflectance (with field edges jittered by
 * a few pixels), a smooth low-frequency variation (haze, moisture), mid-frequency texture, and
 * per-pixel triangular sensor noise from a counter-based hash, so any block renders the same whatever
 * order or thread it is rendered in. DN = ρ·10000 − reflectanceOffset; 0 only where there is no data.
 */
import { CHANNELS, noDataEdge, type Ground } from './ground.js';
import type { BandSpec } from './spec.js';

/** Lattice spacing (px, a power of two) and amplitude (px) of the field-edge jitter. */
const JITTER_CELL = 8;
const JITTER_SHIFT = 3;
const JITTER_PX = 3.5;

/** A 32-bit integer hash (lowbias32) of a lattice or pixel position. */
function hash(x: number, y: number, salt: number): number {
  let h = Math.imul(x, 0x9e3779b1) ^ Math.imul(y + salt, 0x85ebca77);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** −1..1 at lattice point (i, j) of noise channel `salt`. */
function lattice(i: number, j: number, salt: number): number {
  return hash(i, j, salt) / 2147483648 - 1;
}

/** One ground row of 1-D lattice values, interpolated in y: values[i] at lattice column i. */
function latticeRow(out: Float32Array, y: number, salt: number): void {
  const j = y >> JITTER_SHIFT;
  const t = (y & (JITTER_CELL - 1)) / JITTER_CELL;
  for (let i = 0; i < out.length; i++) {
    const a = lattice(i, j, salt);
    out[i] = a + (lattice(i, j + 1, salt) - a) * t;
  }
}

export interface RenderOptions {
  readonly noiseDn: number;
  readonly reflectanceOffset: number;
}

/**
 * Fills `out` (rows × band.width, row-major) with rows firstRow.. of `band`. A 20 m pixel shows the
 * ground at the centre of the 2 × 2 block of 10 m pixels it covers.
 */
export function renderRows(ground: Ground, band: BandSpec, firstRow: number, rows: number, options: RenderOptions, out: Uint16Array): void {
  const { width: gw, height: gh, stripeOfRow, parcelAt, reflectance } = ground;
  const scale = band.pixelSize / 10;
  const shift = scale === 1 ? 0 : 1;
  const channel = CHANNELS[band.stac];
  const salt = channel * 7919 + scale;
  const base = -options.reflectanceOffset;
  const noise = options.noiseDn / 65535;
  const width = band.width;
  // Separable low-frequency field: 1 + a(y)·sx(x) + b(y)·s2(x) + c(y)·c2(x).
  const sx = new Float32Array(width);
  const s2 = new Float32Array(width);
  const c2 = new Float32Array(width);
  for (let c = 0; c < width; c++) {
    const x = c * scale + shift;
    sx[c] = Math.sin(x / 640 + 1.3);
    s2[c] = Math.sin(x / 1700);
    c2[c] = Math.cos(x / 1700);
  }
  const latticeWidth = ((width * scale) >> JITTER_SHIFT) + 2;
  const jitterX = new Float32Array(latticeWidth);
  const jitterY = new Float32Array(latticeWidth);
  for (let r = 0; r < rows; r++) {
    const row = firstRow + r;
    const y = row * scale + shift;
    const o = r * width;
    if (y >= gh) {
      out.fill(0, o, o + width);
      continue;
    }
    latticeRow(jitterX, y, 1);
    latticeRow(jitterY, y, 2);
    const edge = noDataEdge(y, gw, gh);
    const a = 0.06 * Math.sin(y / 810 + 0.4);
    const b = 0.04 * Math.cos(y / 1700);
    const cc = 0.04 * Math.sin(y / 1700);
    for (let c = 0; c < width; c++) {
      const x = c * scale + shift;
      if (x < edge || x >= gw) {
        out[o + c] = 0;
        continue;
      }
      const i = x >> JITTER_SHIFT;
      const f = (x & (JITTER_CELL - 1)) / JITTER_CELL;
      const jx0 = jitterX[i]!;
      const jy0 = jitterY[i]!;
      const jx = jx0 + (jitterX[i + 1]! - jx0) * f;
      const jy = jy0 + (jitterY[i + 1]! - jy0) * f;
      let gx = Math.round(x + JITTER_PX * jx);
      let gy = Math.round(y + JITTER_PX * jy);
      gx = gx < 0 ? 0 : gx >= gw ? gw - 1 : gx;
      gy = gy < 0 ? 0 : gy >= gh ? gh - 1 : gy;
      const parcel = parcelAt[stripeOfRow[gy]! * gw + gx]!;
      const light = 1 + a * sx[c]! + b * s2[c]! + cc * c2[c]! + 0.03 * jx;
      const h = hash(c, row, salt);
      const value = base + reflectance[parcel * 4 + channel]! * light + ((h & 0xffff) + (h >>> 16) - 65535) * noise;
      out[o + c] = value < 1 ? 1 : value > 65535 ? 65535 : Math.round(value);
    }
  }
}
