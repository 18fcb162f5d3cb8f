/**
 * One tile (a full-width strip), start to finish, on a worker: receive and decode the source data,
 * compute each requested index per pixel in float32, map it to 8-bit codes and encode each index
 * as a stitchable PNG strip (and, for a COG, as pieces of the COG's tiles: cog-pieces.ts). Pure with respect to the task and its data: the same task gives the
 * same bytes on any worker.
 */
import { performance } from 'node:perf_hooks';
import { cpuMsSince } from '../shared/cpu-time.js';
import { InvalidRequestError, describeError } from '../shared/errors.js';
import { encodeStripPng } from '../shared/png/strip-png.js';
import { bytesInt32 } from '../shared/proto/int32-bytes.js';
import { encodeCogPieces } from './cog-pieces.js';
import { samplePreview } from '../shared/raster/preview-sample.js';
import type { BandSampling__Output, IndexTile, TileTask__Output } from '../shared/proto/tile-service.js';
import type { BandSamples } from '../shared/raster/index-math.js';
import type { SampleArray, TileTimings } from '../shared/types.js';
import { computeIndices } from './compute-indices.js';
import type { ScratchArrays } from './scratch-arrays.js';
import { SourceAssembler, type SourceChunkIn } from './source-assembler.js';
import { defaultTileCodecs, type TileCodecs } from './tile-codecs.js';

/** A band's column or row map as the kernels read it; an InvalidRequestError (the master's fault) when malformed. */
function lookupOf(bytes: Uint8Array, what: string): Int32Array {
  try {
    return bytesInt32(bytes);
  } catch (error) {
    throw new InvalidRequestError(`${what}: ${describeError(error)}`);
  }
}

export interface ProcessedTile {
  readonly tiles: IndexTile[];
  readonly timings: TileTimings;
}

/** The tile's source data, as ReadSources streams it (or DirectFiles reads it). */
export type SourceStream = AsyncIterable<SourceChunkIn>;

/**
 * `scratch`: where the windows, codes, filtered rows and PNGs come from; the caller releases it once
 * the result is built, after the PNGs are written out or copied (they are views of its memory). `codecs`: what inflates the blocks and compresses
 * the strips (absent: node:zlib for both, and ISA-L when the task asks for it).
 */
export async function processTile(task: TileTask__Output, sources: SourceStream, scratch?: ScratchArrays, codecs: TileCodecs = defaultTileCodecs()): Promise<ProcessedTile> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  // Before any data is read: a worker that cannot compress as the task asks says so at once.
  const deflater = await codecs.deflaters.get(task.stripDeflate);
  const assembler = new SourceAssembler(task, scratch, codecs.inflater);
  let receiveMs = 0;
  let decoded: Map<number, SampleArray>[];
  try {
    let waitStarted = performance.now();
    for await (const chunk of sources) {
      receiveMs += performance.now() - waitStarted;
      await assembler.accept(chunk);
      waitStarted = performance.now();
    }
    receiveMs += performance.now() - waitStarted;
    decoded = await assembler.finish();
  } finally {
    await assembler.settle(); // no decode may still write into arrays the scratch hands out again
  }
  const decodedAt = performance.now();

  const bandSamples = (name: string): BandSamples => {
    const band = task.bands.find((b: BandSampling__Output) => b.name === name);
    if (!band) throw new InvalidRequestError(`task ${task.taskId} has no band "${name}"`);
    const source = task.sources[band.source];
    const values: SampleArray | undefined = decoded[band.source]?.get(band.sample);
    if (!source || !values) throw new InvalidRequestError(`task ${task.taskId}: band "${name}" points at a missing source`);
    return {
      values,
      windowWidth: source.width,
      nodata: band.hasNodata ? band.nodata : null,
      columns: lookupOf(band.columnMap, `task ${task.taskId}: band "${name}" column map`),
      rows: lookupOf(band.rowMap, `task ${task.taskId}: band "${name}" row map`),
    };
  };

  const computed = computeIndices(task, { band: bandSamples, codes: () => scratch?.bytes(task.width * task.height) });
  const computedAt = performance.now();

  // Both indices compress at once on libuv's thread pool (useful where a worker has the cores).
  const tiles = await Promise.all(
    computed.map(async ({ index, codes, stats }): Promise<IndexTile> => {
      const filtered = scratch?.bytes(task.height * (task.width + 1), false); // the filter writes every byte
      // The web preview's sample is taken before encoding: the codes array may be reused for it.
      const preview = task.previewStep > 0 ? samplePreview(codes, task.width, task.height, { step: task.previewStep, firstRow: task.previewFirstRow }) : undefined;
      // The COG's pieces are cut out of the codes (copied) before the PNG is encoded, then compress alongside it.
      const cog = task.cog ? encodeCogPieces({ codes, width: task.width, rows: task.height, top: task.cog.stripTop, gridHeight: task.cog.gridHeight }) : undefined;
      const output = scratch?.growing(`png:${index}`); // the PNG is built in memory the next strip reuses
      const [png, pieces] = await Promise.all([encodeStripPng(codes, task.width, task.height, { deflater, ...(filtered ? { filtered } : {}), ...(output ? { output } : {}) }), cog]);
      return { index, png, stats, ...(preview ? { preview } : {}), ...(pieces ? { cog: pieces } : {}) };
    }),
  );
  const encodedAt = performance.now();

  return {
    tiles,
    timings: { decodeMs: decodedAt - started, computeMs: computedAt - decodedAt, encodeMs: encodedAt - computedAt, receiveMs, cpuMs: cpuMsSince(cpu) },
  };
}
