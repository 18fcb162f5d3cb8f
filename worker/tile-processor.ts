/**
 * One tile, start to finish, on a worker: decode the source windows, compute each requested index
 * per pixel in float32, map it to 8 bits and encode a PNG. Pure with respect to the task: the same
 * task gives the same bytes on any worker.
 */
import { performance } from 'node:perf_hooks';
import { crc32 } from '../shared/checksum.js';
import { InvalidRequestError } from '../shared/errors.js';
import type { BandSampling__Output, IndexTile, TileTask__Output } from '../shared/proto/tile-service.js';
import { computeIndexTile, encodeCodesPng, type BandSamples } from '../shared/raster/index-math.js';
import { decodeSourceWindow } from '../shared/raster/source-decoder.js';
import { INDEX_BANDS, INDEX_NAMES, type IndexName, type SampleArray, type TileTimings } from '../shared/types.js';

export interface ProcessedTile {
  readonly tiles: IndexTile[];
  readonly timings: TileTimings;
}

function isIndexName(name: string): name is IndexName {
  return (INDEX_NAMES as readonly string[]).includes(name);
}

export async function processTile(task: TileTask__Output): Promise<ProcessedTile> {
  const started = performance.now();
  // Decode only the samples the bands use (a chunky multi-band block holds them all).
  const decoded: Map<number, SampleArray>[] = [];
  for (const [at, source] of task.sources.entries()) {
    const samples = [...new Set(task.bands.filter((band) => band.source === at).map((band) => band.sample))];
    decoded.push(await decodeSourceWindow(source, { samples }));
  }
  const decodedAt = performance.now();

  const bandSamples = (name: string): BandSamples => {
    const band = task.bands.find((b: BandSampling__Output) => b.name === name);
    if (!band) throw new InvalidRequestError(`task ${task.taskId} has no band "${name}"`);
    const source = task.sources[band.source];
    const values = decoded[band.source]?.get(band.sample);
    if (!source || !values) throw new InvalidRequestError(`task ${task.taskId}: band "${name}" points at a missing source`);
    return {
      values,
      windowWidth: source.width,
      nodata: band.hasNodata ? band.nodata : null,
      columns: Int32Array.from(band.columns),
      rows: Int32Array.from(band.rows),
    };
  };

  const computed = task.indices.map((index) => {
    if (!isIndexName(index)) throw new InvalidRequestError(`unknown index "${index}"`);
    const [a, b] = INDEX_BANDS[index];
    const result = computeIndexTile({
      width: task.width,
      height: task.height,
      reflectanceOffset: task.reflectanceOffset,
      a: bandSamples(a),
      b: bandSamples(b),
    });
    return { index, ...result };
  });
  const computedAt = performance.now();

  const tiles: IndexTile[] = [];
  for (const { index, codes, stats } of computed) {
    const png = await encodeCodesPng(codes, task.width, task.height);
    tiles.push({ index, png, checksum: crc32(png), stats });
  }
  const encodedAt = performance.now();

  return {
    tiles,
    timings: {
      decodeMs: decodedAt - started,
      computeMs: computedAt - decodedAt,
      encodeMs: encodedAt - computedAt,
    },
  };
}
