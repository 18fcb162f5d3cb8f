/**
 * Block-decoding kernels (not tests): `npm run bench:kernels`. One realistic 1024² uint16 DEFLATE
 * (level 6) + predictor 2 block, decoded by geotiff (pako inflate + its predictor) and by decodeBlock
 * (node:zlib or libdeflate + our predictor); then the inflate alone (sync, async, chunk sizes,
 * libdeflate where it is installed), the predictor loop alone, and the worker's path: predictor 2
 * undone while the block is copied into a strip's window (JavaScript or WebAssembly). Alternatives run interleaved in the same rounds, so a busy machine slows all alike.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { inflate, inflateSync } from 'node:zlib';
import { getDecoder } from 'geotiff';
import { decodeBlock, type BlockFormat } from '../shared/raster/block-decoder.js';
import { LibdeflateInflater } from '../shared/raster/block-inflater.js';
import { Libdeflate, LibdeflateUnavailableError } from '../shared/native/libdeflate.js';
import { undoFloatingPointPredictor, undoHorizontalPredictor } from '../shared/raster/block-predictor.js';
import { HorizontalSums } from '../shared/raster/horizontal-sums.js';
import type { SourceWindow__Output } from '../shared/proto/tile-service.js';
import { copyBlockIntoWindow } from '../worker/window-copy.js';
import { deflatePredicted, median, syntheticBand } from './synthetic-imagery.js';

const N = 1024;
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 25);
const WARMUP = 3;
const inflateAsync = promisify(inflate);

type Alternative = readonly [name: string, run: () => unknown];

/** Median ms per call of each alternative, run round-robin. */
async function compare(alternatives: readonly Alternative[]): Promise<Map<string, number>> {
  const times = new Map<string, number[]>(alternatives.map(([name]) => [name, []]));
  for (let round = 0; round < ROUNDS + WARMUP; round++) {
    for (const [name, run] of alternatives) {
      const t0 = performance.now();
      await run();
      const elapsed = performance.now() - t0;
      if (round >= WARMUP) times.get(name)!.push(elapsed);
    }
  }
  return new Map([...times].map(([name, values]) => [name, median(values)]));
}

function table(title: string, results: Map<string, number>, baseline: string): string[] {
  const base = results.get(baseline)!;
  return [
    `| ${title} | ms | × vs ${baseline} |`,
    '|---|---|---|',
    ...[...results].map(([name, ms]) => `| ${name} | ${ms.toFixed(2)} | ${(base / ms).toFixed(2)} |`),
    '',
  ];
}

/** The naive loop, one function for every sample width (as a generic implementation would be). */
function naiveMasked(values: Uint8Array | Uint16Array | Uint32Array, width: number, rows: number, mask: number): void {
  for (let y = 0; y < rows; y++) {
    let acc = 0;
    for (let i = y * width; i < (y + 1) * width; i++) {
      acc = (acc + values[i]!) & mask;
      values[i] = acc;
    }
  }
}

const values = syntheticBand(N, N, 1);
const stored = deflatePredicted(values, N);
const expectedBytes = N * N * 2;
const predicted = inflateSync(stored);
const format: BlockFormat = { compression: 8, predictor: 2, bitsPerSample: 16, sampleFormat: 1, samplesPerPixel: 1, width: N, rows: N, littleEndian: true };
const geotiffParameters = { tileWidth: N, tileHeight: N, predictor: 2, bitsPerSample: [16], planarConfiguration: 1, samplesPerPixel: 1 };
const geotiffDeflate = await getDecoder(8, geotiffParameters);
const geotiffRaw = await getDecoder(1, geotiffParameters); // no decompression: geotiff's predictor loop alone
const geotiffFloat = await getDecoder(1, { ...geotiffParameters, predictor: 3, bitsPerSample: [32] });
const floatBlock = Uint8Array.from({ length: N * N * 4 }, (_, i) => (i * 2654435761) >>> 24);

/** libdeflate's rows, where it is installed; a line saying why not where it is not. */
async function libdeflateRows(): Promise<{ readonly inflater?: LibdeflateInflater; readonly note: string }> {
  try {
    return { inflater: new LibdeflateInflater(await Libdeflate.load()), note: '' };
  } catch (error) {
    if (!(error instanceof LibdeflateUnavailableError)) throw error;
    return { note: `libdeflate: not measured, ${error.message}` };
  }
}
const { inflater: libdeflate, note: libdeflateNote } = await libdeflateRows();

// Correctness first: both decoders must give the original samples.
const decoded = await decodeBlock(stored, format);
const ours = new Uint16Array(decoded.buffer, decoded.byteOffset, decoded.byteLength / 2);
const theirs = new Uint16Array(await geotiffDeflate.decode(new Uint8Array(stored).buffer));
if (!ours.every((v, i) => v === values[i]) || !theirs.every((v, i) => v === values[i])) throw new Error('decoders disagree');
if (libdeflate && !Buffer.from(await decodeBlock(stored, format, undefined, { inflater: libdeflate })).equals(Buffer.from(decoded))) throw new Error('inflaters disagree');
// The worker's copy: the block's differences summed into the window of a full-width Sentinel-2 strip.
const sums = new HorizontalSums();
const stripLayout = { compression: 8, predictor: 2, blockWidth: N, blockHeight: N, samplesPerPixel: 1, planarConfiguration: 1, bitsPerSample: [16], littleEndian: true, blocks: [], direct: null, imageWidth: 10980, imageHeight: N, sampleFormat: 1, tiled: true };
const stripWindow: SourceWindow__Output = { x0: 0, y0: 0, width: 10980, height: N, sampleType: 'uint16', layout: 'encoded', encoded: stripLayout, decoded: null };
const stripArray = new Uint16Array(10980 * N);
const differences = new Uint16Array(predicted.buffer, predicted.byteOffset, N * N);
function copyIntoStrip(with_: HorizontalSums | undefined): void {
  const block = { column: 3, row: 0, sample: 0, byteCount: 1, offset: 0 };
  copyBlockIntoWindow({ window: stripWindow, layout: stripLayout, block, values: differences, arrays: new Map([[0, stripArray]]), horizontalDifferences: true, sums: with_ });
}
copyIntoStrip(undefined);
const byLoop = stripArray.slice();
copyIntoStrip(sums);
if (!stripArray.every((v, i) => v === byLoop[i])) throw new Error('the copies disagree');
// Make the naive loop's call site see all three element types, as it would in a decoder handling them all.
for (const Ctor of [Uint8Array, Uint32Array, Uint16Array]) naiveMasked(new Ctor(4096), 64, 64, 0xffff);

const lines = [
  `1024² uint16 block, DEFLATE level 6 + predictor 2: ${stored.length} bytes (${(stored.length / (N * N)).toFixed(2)} bytes/pixel); ${ROUNDS} rounds, medians`,
  ...(libdeflateNote ? [libdeflateNote] : []),
  '',
  ...table('whole block', await compare([
    ['geotiff getDecoder().decode', () => geotiffDeflate.decode(new Uint8Array(stored).buffer)],
    ['decodeBlock (async zlib + predictor)', () => decodeBlock(stored, format)],
    ...(libdeflate ? [['decodeBlock (async libdeflate + predictor)', () => decodeBlock(stored, format, undefined, { inflater: libdeflate })] as const] : []),
  ]), 'geotiff getDecoder().decode'),
  ...table('inflate only', await compare([
    ['inflateSync, default 16 KiB chunks', () => inflateSync(stored)],
    ['inflateSync, one chunk of the block size', () => inflateSync(stored, { chunkSize: expectedBytes })],
    ['inflate (async), default 16 KiB chunks', () => inflateAsync(stored)],
    ['inflate (async), one chunk of the block size', () => inflateAsync(stored, { chunkSize: expectedBytes })],
    ['inflate (async), one chunk, 2 blocks concurrently (time for both)', () =>
      Promise.all([inflateAsync(stored, { chunkSize: expectedBytes }), inflateAsync(stored, { chunkSize: expectedBytes })])],
    ...(libdeflate
      ? [
          ['libdeflate (async)', () => libdeflate.inflate(stored, expectedBytes, 'block')] as const,
          ['libdeflate (async), 2 blocks concurrently (time for both)', () => Promise.all([libdeflate.inflate(stored, expectedBytes, 'block'), libdeflate.inflate(stored, expectedBytes, 'block')])] as const,
        ]
      : []),
  ]), 'inflateSync, default 16 KiB chunks'),
  ...table('predictor 2 only (on the inflated block)', await compare([
    ['naive `acc = (acc + v) & 0xffff`, shared by all widths', () => naiveMasked(new Uint16Array(predicted.buffer.slice(0)), N, N, 0xffff)],
    ['geotiff applyPredictor', () => geotiffRaw.decode(predicted.buffer.slice(0))],
    ['undoHorizontalPredictor', () => undoHorizontalPredictor(predicted.buffer.slice(0), 2, N, N, 1)],
    ['(copy of the block alone, included above)', () => predicted.buffer.slice(0)],
  ]), 'naive `acc = (acc + v) & 0xffff`, shared by all widths'),
  ...table('predictor 2 undone while copying the block into a 10980-wide strip window (the worker\'s path)', await compare([
    ['copyBlockIntoWindow, JavaScript loop', () => copyIntoStrip(undefined)],
    ['copyBlockIntoWindow, WebAssembly (HorizontalSums)', () => copyIntoStrip(sums)],
  ]), 'copyBlockIntoWindow, JavaScript loop'),
  ...table('predictor 3 only (1024² float32, on random bytes: the loops do not depend on the values)', await compare([
    ['geotiff applyPredictor', () => geotiffFloat.decode(floatBlock.buffer.slice(0))],
    ['undoFloatingPointPredictor', () => undoFloatingPointPredictor(floatBlock.buffer.slice(0), 4, N, N, 1)],
  ]), 'geotiff applyPredictor'),
  ...(await eventLoopDelay()),
];
process.stdout.write(`${lines.join('\n')}\n`);

/**
 * What the event loop feels while blocks decode back to back: the delay a 1 ms timer sees
 * (monitorEventLoopDelay), sync inflate + predictor vs the async decodeBlock.
 */
async function eventLoopDelay(): Promise<string[]> {
  const measure = async (run: () => unknown): Promise<string> => {
    for (let i = 0; i < WARMUP; i++) await run();
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    histogram.enable();
    const ticker = setInterval(() => undefined, 1);
    for (let i = 0; i < ROUNDS; i++) {
      await run();
      await new Promise((resolve) => setImmediate(resolve));
    }
    clearInterval(ticker);
    histogram.disable();
    const ms = (ns: number): string => (ns / 1e6).toFixed(1);
    return `p50 ${ms(histogram.percentile(50))} ms, p99 ${ms(histogram.percentile(99))} ms, max ${ms(histogram.max)} ms`;
  };
  const sync = await measure(() => {
    const bytes = inflateSync(stored, { chunkSize: expectedBytes });
    undoHorizontalPredictor(bytes.buffer, 2, N, N, 1);
  });
  const async = await measure(() => decodeBlock(stored, format));
  return ['| event-loop delay while decoding blocks back to back | |', '|---|---|', `| inflateSync + predictor | ${sync} |`, `| decodeBlock | ${async} |`];
}
libdeflate?.close();
