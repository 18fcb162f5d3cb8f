/**
 * Index-math kernel (not a test): `npm run bench:kernels`. computeIndexTile in JavaScript and with
 * the WebAssembly row kernel (difference-rows.ts, what workers run) against the loop it replaced
 * (test/support/index-tile-reference.ts), interleaved in the same rounds, on a 1024² tile and a
 * full-width 10980×1024 strip: NDVI (both bands on the output grid) and NDSI (swir16 at 20 m, half
 * resolution). Checks that all three give identical codes and statistics.
 */
import { performance } from 'node:perf_hooks';
import { DifferenceRows } from '../shared/raster/difference-rows.js';
import { computeIndexTile, type BandSamples, type IndexTileInput } from '../shared/raster/index-math.js';
import { referenceIndexTile } from '../test/support/index-tile-reference.js';
import { median, syntheticBand } from './synthetic-imagery.js';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 9);
const WARMUP = 2;

function band(width: number, height: number, seed: number, half: boolean): BandSamples {
  const ww = half ? Math.ceil(width / 2) : width;
  const wh = half ? Math.ceil(height / 2) : height;
  const lookup = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => (half ? i >> 1 : i));
  return { values: syntheticBand(ww, wh, seed), windowWidth: ww, nodata: null, columns: lookup(width), rows: lookup(height) };
}

function same(x: ReturnType<typeof computeIndexTile>, y: ReturnType<typeof computeIndexTile>): boolean {
  return (
    x.stats.validPixels === y.stats.validPixels &&
    Object.is(x.stats.min, y.stats.min) &&
    Object.is(x.stats.max, y.stats.max) &&
    Object.is(x.stats.sum, y.stats.sum) &&
    x.codes.every((c, i) => c === y.codes[i])
  );
}

interface Case {
  readonly label: string;
  readonly width: number;
  readonly height: number;
  readonly half: boolean;
  readonly offset: number;
  readonly float?: boolean;
}

const CASES: readonly Case[] = [
  { label: 'NDVI 1024×1024', width: 1024, height: 1024, half: false, offset: -1000 },
  { label: 'NDSI 1024×1024', width: 1024, height: 1024, half: true, offset: -1000 },
  { label: 'NDVI 10980×1024', width: 10980, height: 1024, half: false, offset: -1000 },
  { label: 'NDSI 10980×1024', width: 10980, height: 1024, half: true, offset: -1000 },
  { label: 'NDVI 1024×1024, offset 0', width: 1024, height: 1024, half: false, offset: 0 },
  { label: 'NDVI 1024×1024, float32 bands (float path)', width: 1024, height: 1024, half: false, offset: -1000, float: true },
];

const lines = [
  `| index math (uint16 unless said; ${ROUNDS} rounds) | before, median (best) Mpx/s | JavaScript, median (best) Mpx/s | WebAssembly, median (best) Mpx/s | × before, JS / wasm (median) |`,
  '|---|---|---|---|---|',
];
const differenceRows = new DifferenceRows();
for (const c of CASES) {
  const a = band(c.width, c.height, 1, false);
  const b = band(c.width, c.height, 2, c.half);
  const asFloat = (x: BandSamples): BandSamples => (c.float ? { ...x, values: Float32Array.from(x.values) } : x);
  const input: IndexTileInput = { width: c.width, height: c.height, reflectanceOffset: c.offset, a: asFloat(a), b: asFloat(b) };
  const withWasm: IndexTileInput = { ...input, differenceRows };
  const reference = referenceIndexTile(input);
  if (!same(computeIndexTile(input), reference) || !same(computeIndexTile(withWasm), reference)) throw new Error(`${c.label}: results differ`);
  const before: number[] = [];
  const after: number[] = [];
  const wasm: number[] = [];
  for (let round = 0; round < ROUNDS + WARMUP; round++) {
    const t0 = performance.now();
    referenceIndexTile(input);
    const t1 = performance.now();
    computeIndexTile(input);
    const t2 = performance.now();
    computeIndexTile(withWasm);
    const t3 = performance.now();
    if (round >= WARMUP) {
      before.push(t1 - t0);
      after.push(t2 - t1);
      wasm.push(t3 - t2);
    }
  }
  const mpx = (ms: number): string => ((c.width * c.height) / ms / 1000).toFixed(0);
  const cell = (times: readonly number[]): string => `${mpx(median(times))} (${mpx(Math.min(...times))})`;
  const mb = median(before);
  lines.push(`| ${c.label} | ${cell(before)} | ${cell(after)} | ${cell(wasm)} | ${(mb / median(after)).toFixed(2)} / ${(mb / median(wasm)).toFixed(2)} |`);
}
process.stdout.write(`${lines.join('\n')}\n`);
