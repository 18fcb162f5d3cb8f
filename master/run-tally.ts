/**
 * What one request's run accumulates while its strips come back: per-strip index statistics
 * (merged in strip order at the end, so the manifest's sums do not depend on arrival order), tiles
 * per worker, the workers' timings, and the master's own costs (bytes shipped, time reading and
 * stitching).
 */
import { mergeIndexStats } from '../shared/raster/index-math.js';
import type { SubmitResultRequest__Output } from '../shared/proto/tile-service.js';
import type { IndexName, IndexStats } from '../shared/types.js';

/** What the tally keeps of one accepted strip; enough to rebuild it when a run resumes. */
export interface StripRecord {
  readonly worker: string;
  readonly stats: Readonly<Record<string, IndexStats>>;
}

export class RunTally {
  readonly #stats = new Map<number, Map<IndexName, IndexStats>>();
  readonly #workers = new Map<number, string>();
  /** Strips taken over from an earlier claim's checkpoint (not computed in this run). */
  resumedStrips = 0;
  readonly workerTiles: Record<string, number> = {};
  readonly workerTimings = { decodeMs: 0, receiveMs: 0, computeMs: 0, encodeMs: 0, cpuMs: 0 };
  /** Time the master spent reading source data for the workers. */
  readMs = 0;
  /** Time the master spent checking and stitching results. */
  stitchMs = 0;
  /** Bytes of source data streamed to workers (every hand-out that read its data). */
  shippedBytes = 0;
  /** Bytes of source data workers read from the input files themselves (DirectRead), by their own account. */
  directReadBytes = 0;
  /** Bytes of stitchable PNG strips received in checked results (verification replicas too). */
  receivedBytes = 0;
  /** Of receivedBytes, those the workers left in result files (DIRECT_WRITES) rather than sent. */
  resultFileBytes = 0;
  tilesDone = 0;

  /** Records strip `index` as going into the mosaic from `result`, credited to `workerId`. */
  addResult(index: number, result: SubmitResultRequest__Output, workerId = result.workerId): void {
    const byIndex = new Map<IndexName, IndexStats>();
    for (const tile of result.tiles) byIndex.set(tile.index as IndexName, tile.stats ?? emptyStats());
    this.#stats.set(index, byIndex);
    this.#workers.set(index, workerId);
    this.countTile(workerId);
  }

  /** Strip `index` is out of the mosaic again (its worker was banned): it will be added anew. */
  forget(index: number): void {
    const worker = this.#workers.get(index);
    if (worker === undefined) return;
    this.#stats.delete(index);
    this.#workers.delete(index);
    this.tilesDone -= 1;
    const left = (this.workerTiles[worker] ?? 1) - 1;
    if (left > 0) this.workerTiles[worker] = left;
    else delete this.workerTiles[worker];
  }

  /** What computing a result cost the worker, and its bytes: for every result checked (replicas too). */
  addCosts(result: SubmitResultRequest__Output): void {
    for (const tile of result.tiles) {
      this.receivedBytes += tile.png.length;
      if (tile.pngInFile) this.resultFileBytes += tile.png.length;
    }
    if (result.timings) {
      this.workerTimings.decodeMs += result.timings.decodeMs;
      this.workerTimings.receiveMs += result.timings.receiveMs;
      this.workerTimings.computeMs += result.timings.computeMs;
      this.workerTimings.encodeMs += result.timings.encodeMs;
      this.workerTimings.cpuMs += result.timings.cpuMs;
      this.directReadBytes += result.timings.directBytes;
    }
  }

  /** Strips 0..records.length-1 as an earlier claim of the request recorded them. */
  restore(records: readonly StripRecord[]): void {
    records.forEach((record, index) => {
      this.#stats.set(index, new Map(Object.entries(record.stats) as Array<[IndexName, IndexStats]>));
      this.#workers.set(index, record.worker);
      this.countTile(record.worker);
    });
    this.resumedStrips = records.length;
  }

  /** Strips 0..count-1 as restore() takes them back. */
  records(count: number): StripRecord[] {
    return Array.from({ length: count }, (_, index) => ({
      worker: this.#workers.get(index) ?? '',
      stats: Object.fromEntries(this.#stats.get(index) ?? []),
    }));
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
