/**
 * Which row filter, zlib level and strategy should encodeStripPng use? Not a test: run
 * `npm run build --silent && node dist/bench/png-strip-options.js` and read the Markdown tables.
 *
 * Data: NDVI and NDSI codes of the real Landsat scene samples/L7_ETMs.tif (NDVI from bands 4 nir and
 * 3 red, NDSI from 2 green and 5 swir16; 349 × 352),
 * a noisy synthetic field as wide as a Sentinel-2 tile (smooth structure plus 6 bits of noise per
 * band, 10980 × 128, with a no-data margin), and uniform random codes (the worst case).
 * Each configuration encodes the same codes REPEATS times, interleaved with the others so that load
 * from other processes on this shared machine hits all of them alike; the median time is reported.
 * Throughput is input codes per second of the whole encodeStripPng call (filter, deflate, Adler-32,
 * wrapping). sharp's PNG encoder (what workers used before strips) is listed for comparison.
 * BENCH_REPEATS (default 5) sets the repeats; BENCH_CANDIDATES (comma-separated name prefixes, e.g.
 * "sub L1,average L1 RLE,sharp") keeps only some candidates.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { constants } from 'node:zlib';

import { fromFile } from 'geotiff';

import { packageRoot } from '../shared/package-root.js';
import { encodeStripPng, type StripEncodeOptions } from '../shared/png/strip-png.js';
import { ROW_FILTERS } from '../shared/png/scanline-filter.js';
import sharp from 'sharp';
import { computeIndexTile } from '../shared/raster/index-math.js';
import type { SampleArray } from '../shared/types.js';

const REPEATS = Number(process.env['BENCH_REPEATS'] ?? 5);

interface Codes {
  readonly name: string;
  readonly codes: Uint8Array;
  readonly width: number;
  readonly rows: number;
}

interface Candidate {
  readonly name: string;
  readonly encode: (c: Codes) => Promise<Buffer>;
}

const ZLIB_SETTINGS: readonly { name: string; level: number; strategy: number }[] = [
  { name: 'L1 default', level: 1, strategy: constants.Z_DEFAULT_STRATEGY },
  { name: 'L1 RLE', level: 1, strategy: constants.Z_RLE },
  { name: 'L1 huffman', level: 1, strategy: constants.Z_HUFFMAN_ONLY },
  { name: 'L1 filtered', level: 1, strategy: constants.Z_FILTERED },
  { name: 'L3 default', level: 3, strategy: constants.Z_DEFAULT_STRATEGY },
  { name: 'L6 default', level: 6, strategy: constants.Z_DEFAULT_STRATEGY },
  { name: 'L6 RLE', level: 6, strategy: constants.Z_RLE },
];

function candidates(): Candidate[] {
  const list: Candidate[] = ROW_FILTERS.flatMap((filter) =>
    ZLIB_SETTINGS.map(({ name, level, strategy }) => {
      const options: StripEncodeOptions = { filter, level, strategy };
      return { name: `${filter} ${name}`, encode: (c: Codes) => encodeStripPng(c.codes, c.width, c.rows, options) };
    }),
  );
  list.push({ name: 'sharp (old worker encoder)', encode: (c) => sharpPng(c.codes, c.width, c.rows) });
  return list;
}

/**
 * An index of the sample Landsat scene, as a worker computes it: (a − b) / (a + b) of two bands given
 * by 1-based number (NDVI: 4 nir, 3 red; NDSI: 2 green, 5 swir16).
 */
async function landsatIndex(name: string, bandA: number, bandB: number): Promise<Codes> {
  const tiff = await fromFile(join(packageRoot(), 'samples', 'L7_ETMs.tif'));
  const image = await tiff.getImage(0);
  const rasters = await image.readRasters({ samples: [bandA - 1, bandB - 1], interleave: false });
  const [a, b] = rasters as unknown as [SampleArray, SampleArray];
  const width = image.getWidth();
  const rows = image.getHeight();
  const identity = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);
  const columns = identity(width);
  const band = (values: SampleArray) => ({ values, windowWidth: width, nodata: null, columns, rows: identity(rows) });
  const { codes } = computeIndexTile({ width, height: rows, reflectanceOffset: 0, a: band(a), b: band(b) });
  return { name: `Landsat ${name} ${width}×${rows}`, codes, width, rows };
}

/** Smooth field plus noise, NDVI of two such bands, the left 10 % no-data (a swath edge). */
function syntheticField(width: number, rows: number): Codes {
  let state = 7;
  const noise = (): number => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state >>> 26; // 0..63
  };
  const codes = new Uint8Array(width * rows);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < width; x++) {
      if (x < width / 10) continue;
      const field = Math.sin(x / 37) * Math.cos(y / 53) + Math.sin((x + y) / 211);
      const nir = 2500 + 900 * field + noise();
      const red = 1200 - 400 * field + noise();
      codes[y * width + x] = 1 + Math.round(((nir - red) / (nir + red) + 1) * 127);
    }
  }
  return { name: `noisy field ${width}×${rows}`, codes, width, rows };
}

function uniformNoise(width: number, rows: number): Codes {
  let state = 11;
  const codes = Uint8Array.from({ length: width * rows }, () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state >>> 24;
  });
  return { name: `uniform random ${width}×${rows}`, codes, width, rows };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function measure(data: Codes, list: readonly Candidate[]): Promise<string[]> {
  const times = list.map(() => [] as number[]);
  const sizes = list.map(() => 0);
  for (let round = 0; round <= REPEATS; round++) {
    for (const [i, candidate] of list.entries()) {
      const t0 = performance.now();
      const png = await candidate.encode(data);
      const ms = performance.now() - t0;
      if (round > 0) times[i]!.push(ms); // round 0 warms up
      sizes[i] = png.length;
    }
  }
  const smallest = Math.min(...sizes);
  const rows = list.map((candidate, i) => {
    const ms = median(times[i]!);
    return { name: candidate.name, ms, mbs: data.codes.length / ms / 1000, bytes: sizes[i]! };
  });
  const fastest = Math.max(...rows.map((r) => r.mbs));
  return [
    `### ${data.name} (${data.codes.length} codes, ${REPEATS} repeats)`,
    '',
    '| filter, zlib | MB/s | × fastest | bytes | × smallest | bits/px |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.mbs.toFixed(0)} | ${(r.mbs / fastest).toFixed(2)} | ${r.bytes} | ` +
        `${(r.bytes / smallest).toFixed(3)} | ${((8 * r.bytes) / data.codes.length).toFixed(2)} |`,
    ),
    '',
  ];
}

async function main(): Promise<void> {
  const only = process.env['BENCH_CANDIDATES']?.split(',');
  const list = candidates().filter((c) => !only || only.some((o) => c.name.startsWith(o)));
  const datasets = [
    await landsatIndex('NDVI', 4, 3),
    await landsatIndex('NDSI', 2, 5),
    syntheticField(10980, 128),
    uniformNoise(10980, 64),
  ];
  for (const data of datasets) console.log((await measure(data, list)).join('\n'));
}

await main();

/** The workers' encoder before stitchable strips: a whole grey PNG from sharp (the comparison's baseline). */
function sharpPng(codes: Uint8Array, width: number, height: number): Promise<Buffer> {
  return sharp(Buffer.from(codes.buffer, codes.byteOffset, codes.byteLength), { raw: { width, height, channels: 1 } }).toColourspace('b-w').png().toBuffer();
}
