/**
 * Runs one claimed request to a recorded end: validate the row, open the bands, plan tiles, read
 * and dispatch them (at most `maxInflightTiles` at once, so memory stays flat), merge the results,
 * write the manifest, and record `completed` — or `failed` with a reason a user understands, or
 * back to `pending` when the master is stopping. It never throws: a bad request never stops the
 * master.
 */
import PQueue from 'p-queue';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { verifyCrc32 } from '../shared/checksum.js';
import { mergeIndexStats } from '../shared/raster/index-math.js';
import { RequestError, describeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { SourceWindow, SubmitResultRequest__Output } from '../shared/proto/tile-service.js';
import type { BandInput, IndexName, IndexStats, MosaicJob } from '../shared/types.js';
import { withoutQuery } from '../shared/urls.js';
import type { MosaicRequestRow, RequestStore } from './db/request-store.js';
import type { TileDispatcher } from './dispatch/tile-dispatcher.js';
import { crsWkt, gridBounds } from './output/georeference.js';
import { summariseIndexStats, writeManifest, type Manifest } from './output/manifest.js';
import { MosaicWriter } from './output/mosaic-writer.js';
import type { RequestProcessor } from './request-claimer.js';
import { parseRequest, type RequestDefaults } from './request-spec.js';
import { openBandSet, referenceBlockFor, type BandSet } from './source/band-set.js';
import { openEarthDailyBandSet } from './source/earthdaily-source.js';
import { planTiles, type PlannedTile } from './source/tile-plan.js';
import { readTile } from './source/tile-reader.js';

/** Uploads a finished request's files somewhere else (Azure Data Lake); returns file name → URL. */
export interface OutputUploader {
  upload(requestId: string, files: readonly string[], options?: { signal?: AbortSignal }): Promise<Record<string, string>>;
}

export interface RequestRunnerOptions {
  readonly store: RequestStore;
  readonly dispatcher: TileDispatcher;
  readonly masterId: string;
  readonly outputDir: string;
  /** What a request row may leave to the master (tile size, EarthDaily URL and band layout). */
  readonly requestDefaults: RequestDefaults;
  readonly maxBboxDeg: number;
  readonly maxRequestPixels: number;
  /** Absent: outputs stay on the volume only. */
  readonly uploader?: OutputUploader | undefined;
  readonly maxInflightTiles: number;
  readonly heartbeatMs: number;
  /** A request claimed more often than this (its masters kept dying) fails instead of running again. */
  readonly maxAttempts: number;
  readonly log: Logger;
}

/** An opened input, with what the manifest says about it. */
interface OpenedSource {
  readonly bandSet: BandSet;
  readonly inputs: readonly BandInput[];
  readonly earthdaily?: Manifest['earthdaily'];
}

/** Thrown inside a run when the master is stopping; the request goes back to `pending`. */
class StopRequested extends Error {}

const PROGRESS_EVERY_MS = 250;

/** Everything one run accumulates while tiles come back. */
class RunTally {
  readonly stats = new Map<IndexName, IndexStats>();
  readonly workerTiles: Record<string, number> = {};
  readonly workerTimings = { decodeMs: 0, computeMs: 0, encodeMs: 0 };
  readMs = 0;
  /** Bytes of source data shipped to workers (compressed blocks or decoded windows), first hand-outs. */
  payloadBytes = 0;
  tilesDone = 0;

  addResult(result: SubmitResultRequest__Output): void {
    for (const tile of result.tiles) {
      const index = tile.index as IndexName;
      const stats = tile.stats ?? emptyStats();
      this.stats.set(index, mergeIndexStats(this.stats.get(index) ?? emptyStats(), stats));
    }
    if (result.timings) {
      this.workerTimings.decodeMs += result.timings.decodeMs;
      this.workerTimings.computeMs += result.timings.computeMs;
      this.workerTimings.encodeMs += result.timings.encodeMs;
    }
  }

  countTile(workerId: string): void {
    this.tilesDone += 1;
    this.workerTiles[workerId] = (this.workerTiles[workerId] ?? 0) + 1;
  }
}

/** Checks a worker's result against the tile it was for; throws with the reason if it is not valid. */
function checkResult(result: SubmitResultRequest__Output, job: MosaicJob): void {
  const seen = new Set<string>();
  for (const tile of result.tiles) {
    if (!job.indices.includes(tile.index as IndexName)) throw new Error(`unexpected index "${tile.index}" in result`);
    if (seen.has(tile.index)) throw new Error(`index "${tile.index}" returned twice`);
    seen.add(tile.index);
    verifyCrc32(`${tile.index} PNG`, tile.png, tile.checksum);
  }
  const missing = job.indices.filter((index) => !seen.has(index));
  if (missing.length > 0) throw new Error(`result lacks ${missing.join(', ')}`);
}

export class RequestRunner implements RequestProcessor {
  readonly #options: RequestRunnerOptions;

  constructor(options: RequestRunnerOptions) {
    this.#options = options;
  }

  async process(row: MosaicRequestRow, signal: AbortSignal): Promise<void> {
    const { store, masterId, log: baseLog } = this.#options;
    const log = baseLog.child({ requestId: row.id });
    const heartbeat = setInterval(() => {
      store.heartbeat(row.id, masterId).catch((error: unknown) => log.warn({ error: describeError(error) }, 'heartbeat failed'));
    }, this.#options.heartbeatMs);
    try {
      await this.#run(row, signal, log);
    } catch (error) {
      await this.#recordFailure(row, error, signal, log);
    } finally {
      clearInterval(heartbeat);
    }
  }

  async #recordFailure(row: MosaicRequestRow, error: unknown, signal: AbortSignal, log: Logger): Promise<void> {
    const { store, masterId } = this.#options;
    try {
      if (signal.aborted || error instanceof StopRequested) {
        const released = await store.release(row.id, masterId);
        log.warn({ released }, 'master stopping: request released back to pending');
        return;
      }
      const message = describeError(error);
      if (error instanceof RequestError) log.warn({ error: message }, 'request failed');
      else log.error({ err: error }, 'request failed unexpectedly');
      await store.fail(row.id, masterId, message);
    } catch (recordError) {
      // The database is unreachable: the row stays `running` and is reclaimed once its heartbeat is stale.
      log.error({ error: describeError(recordError) }, 'could not record the request outcome');
    }
  }

  async #run(row: MosaicRequestRow, signal: AbortSignal, log: Logger): Promise<void> {
    const started = performance.now();
    if (row.attempts > this.#options.maxAttempts) {
      throw new RequestError(
        `request was started ${row.attempts} times without finishing (masters stopped or crashed while running it); ` +
          `check the master logs, then run UPDATE mosaic_requests SET status = 'pending', attempts = 0 WHERE id = ${row.id} to retry`,
      );
    }
    const job = parseRequest(row, this.#options.requestDefaults);
    const source = await this.#openSource(job, signal);
    const { bandSet } = source;
    try {
      const openedAt = performance.now();
      const tiles = planTiles(bandSet.grid, job.tileSize, referenceBlockFor(bandSet));
      await this.#options.store.setTilesTotal(row.id, this.#options.masterId, tiles.length);
      log.info({ tiles: tiles.length, grid: bandSet.grid }, 'request planned');

      const finalDir = join(this.#options.outputDir, row.id);
      const wkt = crsWkt(bandSet.grid.epsg);
      const writer = new MosaicWriter({ outputDir: finalDir, grid: bandSet.grid, indices: job.indices, crsWkt: wkt });
      const tally = new RunTally();
      try {
        await this.#processTiles(job, bandSet, tiles, writer, tally, signal, log);
        const tilesAt = performance.now();
        const timings = {
          openMs: openedAt - started,
          tilesMs: tilesAt - openedAt,
          readMs: tally.readMs,
          workerDecodeMs: tally.workerTimings.decodeMs,
          workerComputeMs: tally.workerTimings.computeMs,
          workerEncodeMs: tally.workerTimings.encodeMs,
        };
        const manifest = (mergeMs: number): Manifest => ({
          requestId: row.id,
          source: job.source,
          inputs: source.inputs,
          ...(source.earthdaily ? { earthdaily: source.earthdaily } : {}),
          fetched: bandSet.fetched(),
          indices: job.indices,
          crs: { epsg: bandSet.grid.epsg, wkt },
          grid: bandSet.grid,
          bounds: gridBounds(bandSet.grid),
          stats: Object.fromEntries(job.indices.map((index) => [index, summariseIndexStats(tally.stats.get(index) ?? emptyStats())])),
          tiles: { total: tiles.length, byWorker: tally.workerTiles, payloadBytes: tally.payloadBytes },
          timings: { ...timings, mergeMs, totalMs: performance.now() - started },
          createdAt: new Date().toISOString(),
        });
        const outputs = await writer.finish({
          beforePublish: (stagingDir) => writeManifest(join(stagingDir, 'manifest.json'), manifest(performance.now() - tilesAt)),
        });
        const mergeMs = performance.now() - tilesAt;
        const upload = await this.#upload(row.id, finalDir, signal, log);
        const completed = await this.#options.store.complete(row.id, this.#options.masterId, {
          outputDir: finalDir,
          outputs: { ...outputs, manifest: join(finalDir, 'manifest.json') },
          workerTiles: tally.workerTiles,
          timings: { ...timings, mergeMs, uploadMs: upload.ms, totalMs: performance.now() - started },
          tilesDone: tally.tilesDone,
          uploadUrls: upload.urls,
          uploadError: upload.error,
        });
        if (!completed) log.warn('request was taken over by another master before it completed; outcome not recorded');
        else log.info({ tiles: tiles.length, ms: Math.round(performance.now() - started) }, 'request completed');
      } catch (error) {
        await writer.abort();
        throw error;
      }
    } finally {
      await bandSet.close();
    }
  }

  /** Opens the request's input: named band files, or a box of an EarthDaily mosaic. */
  async #openSource(job: MosaicJob, signal: AbortSignal): Promise<OpenedSource> {
    if (job.source === 'sentinel2') {
      const bandSet = await openBandSet(job.bands, { signal });
      return { bandSet, inputs: job.bands.map((band) => ({ ...band, uri: withoutQuery(band.uri) })) };
    }
    const bandSet = await openEarthDailyBandSet(
      { url: job.url, bbox: job.bbox, resolution: job.resolution, bands: job.bands },
      { maxBboxDeg: this.#options.maxBboxDeg, maxPixels: this.#options.maxRequestPixels, signal },
    );
    return {
      bandSet,
      inputs: job.bands.map((band) => ({ ...band, uri: bandSet.sourceUrl })),
      earthdaily: {
        box: job.bbox,
        resolution: job.resolution,
        sourceUrl: bandSet.sourceUrl,
        overview: bandSet.overview,
        outputGrid: `north-up, in the mosaic's own CRS (EPSG:${bandSet.grid.epsg}), ${job.resolution} m pixels`,
      },
    };
  }

  /**
   * Uploads the published folder when an uploader is configured. A failure (after the uploader's
   * own retries) is recorded, not thrown: the mosaic is safe on the volume either way.
   */
  async #upload(requestId: string, folder: string, signal: AbortSignal, log: Logger): Promise<{ urls: Record<string, string> | null; error: string | null; ms: number }> {
    const { uploader } = this.#options;
    if (!uploader) return { urls: null, error: null, ms: 0 };
    const started = performance.now();
    const files = (await readdir(folder)).sort().map((name) => join(folder, name));
    try {
      const urls = await uploader.upload(requestId, files, { signal });
      log.info({ files: files.length }, 'outputs uploaded');
      return { urls, error: null, ms: performance.now() - started };
    } catch (error) {
      const message = describeError(error);
      log.error({ error: message }, 'upload failed; the outputs stay on the volume');
      return { urls: null, error: message, ms: performance.now() - started };
    }
  }

  async #processTiles(
    job: MosaicJob,
    bandSet: BandSet,
    tiles: readonly PlannedTile[],
    writer: MosaicWriter,
    tally: RunTally,
    signal: AbortSignal,
    log: Logger,
  ): Promise<void> {
    const { dispatcher, store, masterId, maxInflightTiles } = this.#options;
    const queue = new PQueue({ concurrency: maxInflightTiles });
    const failed = new AbortController();
    let firstError: unknown;
    const fail = (error: unknown): void => {
      if (firstError !== undefined) return;
      firstError = error;
      failed.abort();
      dispatcher.cancelRequest(job.id, error instanceof Error ? error : new Error(String(error)));
    };
    const onStop = (): void => fail(new StopRequested('master stopping'));
    signal.addEventListener('abort', onStop, { once: true });
    if (signal.aborted) onStop();

    let lastProgress = 0;
    const reportProgress = (force: boolean): void => {
      const now = performance.now();
      if (!force && now - lastProgress < PROGRESS_EVERY_MS) return;
      lastProgress = now;
      store.recordProgress(job.id, masterId, tally.tilesDone).catch((error: unknown) => {
        log.warn({ error: describeError(error) }, 'progress update failed');
      });
    };

    const runTile = async (tile: PlannedTile): Promise<void> => {
      if (failed.signal.aborted) return;
      const readStarted = performance.now();
      const payload = await readTile(bandSet, tile, failed.signal);
      tally.readMs += performance.now() - readStarted;
      tally.payloadBytes += payloadSize(payload.sources);
      if (failed.signal.aborted) return;
      const outcome = await dispatcher.dispatch({
        requestId: job.id,
        tileIndex: tile.index,
        task: {
          width: tile.width,
          height: tile.height,
          indices: [...job.indices],
          reflectanceOffset: job.reflectanceOffset,
          sources: payload.sources,
          bands: payload.bands,
        },
        accept: async (result) => {
          checkResult(result, job);
          for (const indexTile of result.tiles) {
            await writer.addTile(indexTile.index as IndexName, tile.left, tile.top, indexTile.png);
          }
          tally.addResult(result);
        },
      });
      tally.countTile(outcome.workerId);
      reportProgress(false);
    };

    try {
      for (const tile of tiles) queue.add(() => runTile(tile)).catch(fail);
      await queue.onIdle();
    } finally {
      signal.removeEventListener('abort', onStop);
    }
    if (firstError !== undefined) throw firstError;
    reportProgress(true);
  }
}

function payloadSize(sources: readonly SourceWindow[]): number {
  let bytes = 0;
  for (const source of sources) {
    bytes += source.decoded?.data?.length ?? 0;
    for (const block of source.encoded?.blocks ?? []) bytes += block.data?.length ?? 0;
  }
  return bytes;
}

function emptyStats(): IndexStats {
  return { validPixels: 0, min: 0, max: 0, sum: 0 };
}
