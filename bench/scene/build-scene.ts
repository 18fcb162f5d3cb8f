/**
 * Builds a scene's four band files block row by block row, never holding a whole band in memory:
 * build threads render and DEFLATE block rows (any order), the main thread appends them to each
 * band's file in order (GeoTiffFileWriter). Memory: a few block rows per thread.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { GeoTiffFileWriter } from '../../test/support/tiff-file-writer.js';
import type { BlockRowResult, BlockRowTask } from './build-thread.js';
import { bandFormat, type BandSpec, type SceneSpec } from './spec.js';

export interface BuildOptions {
  /** Build threads (default: the cores there are, at most 4). */
  readonly threads?: number;
  readonly log: (message: string) => void;
}

export function bandFile(band: BandSpec): string {
  return `${band.id}.tif`;
}

/** Appends each block row's blocks to a band's file in row order, whatever order they arrive in. */
class OrderedRows {
  readonly #writer: GeoTiffFileWriter;
  readonly #pending = new Map<number, readonly Uint8Array[]>();
  #next = 0;
  #chain: Promise<void> = Promise.resolve();

  constructor(writer: GeoTiffFileWriter) {
    this.#writer = writer;
  }

  accept(row: number, blocks: readonly Uint8Array[]): void {
    this.#pending.set(row, blocks);
    for (let ready = this.#pending.get(this.#next); ready; ready = this.#pending.get(this.#next)) {
      this.#pending.delete(this.#next);
      this.#next += 1;
      this.#chain = this.#chain.then(async () => {
        for (const block of ready) await this.#writer.writeEncodedBlock(block);
      });
      this.#chain.catch(() => undefined); // seen by flushed(); not an unhandled rejection meanwhile
    }
  }

  flushed(): Promise<void> {
    return this.#chain;
  }
}

/** One block row from a build thread. */
function encodeOn(worker: Worker, task: BlockRowTask): Promise<BlockRowResult> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      worker.off('message', onMessage);
      reject(error);
    };
    const onMessage = (result: BlockRowResult): void => {
      worker.off('error', onError);
      resolve(result);
    };
    worker.once('message', onMessage);
    worker.once('error', onError);
    worker.postMessage(task);
  });
}

/** Writes the scene's band files into `dir`; returns each file's size in bytes, by band id. */
export async function buildSceneFiles(spec: SceneSpec, dir: string, options: BuildOptions): Promise<Record<string, number>> {
  const threads = Math.max(1, options.threads ?? Math.min(4, availableParallelism()));
  const writers = await Promise.all(spec.bands.map((band) => GeoTiffFileWriter.create(join(dir, bandFile(band)), bandFormat(spec, band))));
  const sinks = writers.map((writer) => new OrderedRows(writer));
  // Row-major across bands, so every file grows together and few rows wait for their turn.
  const tasks: BlockRowTask[] = [];
  const rowsOf = writers.map((w) => w.layout.down);
  for (let row = 0; row < Math.max(...rowsOf); row++) {
    rowsOf.forEach((down, band) => row < down && tasks.push({ band, row }));
  }
  const started = performance.now();
  const workers = Array.from({ length: threads }, () => new Worker(new URL('./build-thread.js', import.meta.url), { workerData: { spec } }));
  let done = 0;
  let reported = 0;
  let renderMs = 0;
  let encodeMs = 0;
  try {
    let next = 0;
    await Promise.all(
      workers.map(async (worker) => {
        for (let task = tasks[next++]; task; task = tasks[next++]) {
          const result = await encodeOn(worker, task);
          let at = 0;
          const blocks = result.blockSizes.map((size) => result.data.subarray(at, (at += size)));
          sinks[result.band]!.accept(result.row, blocks);
          renderMs += result.renderMs;
          encodeMs += result.encodeMs;
          done += 1;
          if (done / tasks.length >= reported + 0.1 || done === tasks.length) {
            reported = Math.floor((done / tasks.length) * 10) / 10;
            options.log(`  ${Math.round((done / tasks.length) * 100)} % (${done}/${tasks.length} block rows, ${((performance.now() - started) / 1000).toFixed(0)} s)`);
          }
        }
      }),
    );
    await Promise.all(sinks.map((sink) => sink.flushed()));
    const sizes = await Promise.all(writers.map((writer) => writer.close()));
    options.log(`  ${threads} thread(s): rendering ${(renderMs / 1000).toFixed(1)} s, DEFLATE ${(encodeMs / 1000).toFixed(1)} s of thread time`);
    return Object.fromEntries(spec.bands.map((band, i) => [band.id, sizes[i]!]));
  } catch (error) {
    await Promise.all(writers.map((writer) => writer.abort()));
    throw error;
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}
