/**
 * The ground a synthetic tile shows, in 10 m pixel coordinates: agricultural parcels (60–200 px,
 * laid in rows of varying height, each row cut into fields of varying width), each with a land cover
 * and a per-band reflectance, and a snow-capped massif in the north-east. Built once per scene from a
 * seeded PRNG, so every band and every build thread sees the same parcels.
 */
import type { SceneBand } from './spec.js';
import { prng } from '../../test/support/prng.js';

/** Spectral channels of the reflectance table. */
export const CHANNELS: Readonly<Record<SceneBand, number>> = { green: 0, red: 1, nir: 2, swir16: 3 };

/** Land covers with their typical surface reflectance ρ (green, red, nir, swir16) and share of parcels. */
const COVERS = [
  { name: 'crop', rho: [0.08, 0.05, 0.38, 0.2], weight: 35 },
  { name: 'grass', rho: [0.07, 0.06, 0.28, 0.22], weight: 20 },
  { name: 'soil', rho: [0.1, 0.15, 0.22, 0.3], weight: 20 },
  { name: 'forest', rho: [0.05, 0.03, 0.3, 0.14], weight: 12 },
  { name: 'urban', rho: [0.1, 0.11, 0.16, 0.19], weight: 6 },
  { name: 'water', rho: [0.05, 0.03, 0.015, 0.008], weight: 7 },
] as const;
const SNOW = { name: 'snow', rho: [0.78, 0.75, 0.68, 0.06] } as const;
export const COVER_NAMES: readonly string[] = [...COVERS.map((c) => c.name), SNOW.name];

const MIN_PARCEL = 60;
const MAX_PARCEL = 200;

export interface Ground {
  readonly width: number;
  readonly height: number;
  /** Parcel row of each ground row y. */
  readonly stripeOfRow: Uint16Array;
  /** Parcel id at [stripe × width + x]. */
  readonly parcelAt: Int32Array;
  /** ρ × 10000 at [parcel × 4 + channel]. */
  readonly reflectance: Float32Array;
  /** Index into COVER_NAMES, per parcel. */
  readonly cover: Uint8Array;
}

/** Cuts [0, length) into pieces of MIN_PARCEL..MAX_PARCEL; returns the start of each piece. */
function cuts(length: number, next: () => number): number[] {
  const starts: number[] = [];
  for (let at = 0; at < length; at += MIN_PARCEL + Math.floor(next() * (MAX_PARCEL - MIN_PARCEL + 1))) starts.push(at);
  return starts;
}

/** 0..1: how high the ground is at (x, y); snow lies above ~0.55. */
function elevation(x: number, y: number, width: number, height: number): number {
  const sigma = 0.16 * Math.min(width, height);
  const dx = x - 0.78 * width;
  const dy = y - 0.22 * height;
  return Math.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
}

export function createGround(width: number, height: number, seed = 20261201): Ground {
  const next = prng(seed);
  const rowStarts = cuts(height, next);
  const stripeOfRow = new Uint16Array(height);
  rowStarts.forEach((start, s) => stripeOfRow.fill(s, start, rowStarts[s + 1] ?? height));
  const parcelAt = new Int32Array(rowStarts.length * width);
  const reflectance: number[] = [];
  const cover: number[] = [];
  const totalWeight = COVERS.reduce((sum, c) => sum + c.weight, 0);
  rowStarts.forEach((top, s) => {
    const bottom = rowStarts[s + 1] ?? height;
    const columnStarts = cuts(width, next);
    columnStarts.forEach((left, c) => {
      const right = columnStarts[c + 1] ?? width;
      const id = cover.length;
      parcelAt.fill(id, s * width + left, s * width + right);
      let pick = next() * totalWeight;
      let kind = COVERS.findIndex((k) => (pick -= k.weight) < 0);
      if (kind < 0) kind = COVERS.length - 1;
      const snowy = elevation((left + right) / 2, (top + bottom) / 2, width, height) > 0.5 + 0.1 * next();
      const rho = snowy ? SNOW.rho : COVERS[kind]!.rho;
      // Vegetation vigour moves red and nir in opposite directions; other bands vary ±15 %.
      const vigour = next();
      const vary = (channel: number): number => {
        if (!snowy && kind <= 3 && channel === CHANNELS.nir) return 0.7 + 0.5 * vigour;
        if (!snowy && kind <= 3 && channel === CHANNELS.red) return 1.3 - 0.5 * vigour;
        return 0.85 + 0.3 * next();
      };
      for (let channel = 0; channel < 4; channel++) reflectance.push(rho[channel]! * 10000 * vary(channel));
      cover.push(snowy ? COVERS.length : kind);
    });
  });
  return { width, height, stripeOfRow, parcelAt, reflectance: Float32Array.from(reflectance), cover: Uint8Array.from(cover) };
}

/**
 * The swath edge: real tiles at the edge of an orbit's swath have a no-data triangle; this one covers
 * the south-west corner (5 % of the tile), from 60 % down the west edge to 25 % along the south edge, so
 * a few 1024² blocks of a full tile hold no data at all. Returns the ground x below which row y is no-data.
 */
export function noDataEdge(y: number, width: number, height: number): number {
  const top = 0.6 * height;
  return y <= top ? -1 : (0.25 * width * (y - top)) / (height - top);
}
