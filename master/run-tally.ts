/**
 * What one request's run accumulates while its strips come back: per-strip index statistics
 * (merged in strip order at the end, so the manifest's sums do not depend on arrival order), tiles
 * per worker, the workers' timings, and the master's own costs (bytes shipped, time reading and
 * stitching).
 */
import { mergeIndexStats } from '../shared/raster/index-math.js';
import type { SubmitResultRequest__Output } from '../shared/proto/tile-service.js';
import type { IndexName, IndexStats } from '../shared/types.js';

export class RunTally {
  readonly #stats = new Map<number, Map<IndexName, IndexStats>>();
  readonly workerTiles: Record<string, number> = {};
  readonly workerTimings = { decodeMs: 0, receiveMs: 0, computeMs: 0, encodeMs: 0, cpuMs: 0 };
  /** Time the master spent reading source data for the workers. */
  readMs = 0;
  /** Time the master spent checking and stitching results. */
  stitchMs = 0;
  /** Bytes of source data streamed to workers (every hand-out that read its data). */
  shippedBytes = 0;
  /** Bytes of stitchable PNG strips received in accepted results. */
  receivedBytes = 0;
  tilesDone = 0;

  /** Records an accepted result of strip `index`. */
  addResult(index: number, result: SubmitResultRequest__Output): void {
    const byIndex = new Map<IndexName, IndexStats>();
    for (const tile of result.tiles) {
      byIndex.set(tile.index as IndexName, tile.stats ?? emptyStats());
      this.receivedBytes += tile.png.length;
    }
    this.#stats.set(index, byIndex);
    if (result.timings) {
      this.workerTimings.decodeMs += result.timings.decodeMs;
      this.workerTimings.receiveMs += result.timings.receiveMs;
      this.workerTimings.computeMs += result.timings.computeMs;
      this.workerTimings.encodeMs += result.timings.encodeMs;
      this.workerTimings.cpuMs += result.timings.cpuMs;
    }
  }

  countTile(workerId: string): void {
    this.tilesDone += 1;
    this.workerTiles[workerId] = (this.workerTiles[workerId] ?? 0) + 1;
  }

  /** One index's statistics over every strip, merged top to bottom. */
  statsOf(index: IndexName): IndexStats {
    let merged = emptyStats();
    for (const strip of [...this.#stats.keys()].sort((a, b) => a - b)) {
      merged = mergeIndexStats(merged, this.#stats.get(strip)?.get(index) ?? emptyStats());
    }
    return merged;
  }
}

export function emptyStats(): IndexStats {
  return { validPixels: 0, min: 0, max: 0, sum: 0 };
}
