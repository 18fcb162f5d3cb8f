/**
 * Benchmarks (not tests): `npm run bench` runs this, then the full-scene benchmark
 * (bench/full-scene.ts: a whole Sentinel-2 tile through `tessera run`, against the GDAL command line).
 *
 * This part times the worker's per-strip kernels on the unit of work a full Sentinel-2 tile is cut
 * into, a 10980 × 1024 strip of noisy field-like uint16 bands: NDVI index math, and encoding the codes
 * as a stitchable PNG strip (filter + deflate + framing), by node:zlib and, where it is installed,
 * by ISA-L (STRIP_DEFLATE=isal). `npm run bench:kernels` has the detailed
 * comparisons with what these replaced.
 */
import { performance } from 'node:perf_hooks';
import { Isal, IsalUnavailableError } from '../shared/native/isal.js';
import { IsalStripDeflater, ZlibStripDeflater, type StripDeflater } from '../shared/png/strip-deflater.js';
import { encodeStripPng } from '../shared/png/strip-png.js';
import { computeIndexTile } from '../shared/raster/index-math.js';

const WIDTH = 10_980;
const ROWS = 1024;
const ROUNDS = 7;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** A deterministic, field-like texture: smooth structure plus sensor-like noise. */
function band(width: number, height: number, seed: number): Uint16Array {
  const values = new Uint16Array(width * height);
  let state = seed;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      state = (state * 1664525 + 1013904223) >>> 0;
      const field = Math.sin((x + seed) / 37) * Math.cos((y - seed) / 53) + Math.sin((x + y) / 211);
      values[y * width + x] = Math.max(1, Math.round(1500 + 900 * field + (state >>> 24) - 128));
    }
  }
  return values;
}

const identity = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);
const nir = { values: band(WIDTH, ROWS, 1), windowWidth: WIDTH, nodata: null, columns: identity(WIDTH), rows: identity(ROWS) };
const red = { ...nir, values: band(WIDTH, ROWS, 2) };
const isal = await Isal.load().catch((error: unknown) => {
  if (error instanceof IsalUnavailableError) return error;
  throw error;
});
const deflaters: Array<[string, StripDeflater]> = [['node:zlib', new ZlibStripDeflater()], ...(isal instanceof Isal ? [['ISA-L', new IsalStripDeflater(isal)] as [string, StripDeflater]] : [])];
const compute: number[] = [];
const encode = new Map<string, number[]>(deflaters.map(([name]) => [name, []]));
const bytes = new Map<string, number>();
for (let round = 0; round < ROUNDS + 2; round += 1) {
  const t0 = performance.now();
  const { codes } = computeIndexTile({ width: WIDTH, height: ROWS, reflectanceOffset: -1000, a: nir, b: red });
  const t1 = performance.now();
  if (round >= 2) compute.push(t1 - t0);
  for (const [name, deflater] of deflaters) {
    const started = performance.now();
    const png = await encodeStripPng(codes, WIDTH, ROWS, { deflater });
    if (round >= 2) {
      encode.get(name)!.push(performance.now() - started);
      bytes.set(name, png.length);
    }
  }
}
if (isal instanceof Isal) isal.close();
const pixels = WIDTH * ROWS;
const encodeRow = ([name]: [string, StripDeflater]): string => {
  const ms = median(encode.get(name)!);
  return `| stitchable PNG strip: filter + deflate (${name}) + framing | ${ms.toFixed(0)} ms (${(pixels / ms / 1000).toFixed(0)} MB/s of codes; ${((bytes.get(name) ?? 0) / 1e6).toFixed(2)} MB) |`;
};
process.stdout.write(
  [
    '| worker kernel, one 10980 × 1024 strip (median of 7) | figure |',
    '|---|---|',
    `| NDVI index math | ${median(compute).toFixed(0)} ms (${(pixels / median(compute) / 1000).toFixed(0)} Mpx/s) |`,
    ...deflaters.map(encodeRow),
    ...(isal instanceof Isal ? [] : [`| stitchable PNG strip, ISA-L | not measured: ${isal.message} |`]),
    '',
  ].join('\n'),
);
