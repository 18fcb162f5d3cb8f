/**
 * Where a tile's source data comes from, and the tile computed from it: the input files themselves
 * where this worker sees them (DirectFiles, DIRECT_READS), else the data the master streams with
 * ReadSources under the worker's lease. A direct read that fails part-way is done again from the
 * master's data, so a flaky mount costs time, never a tile.
 */
import type * as grpc from '@grpc/grpc-js';
import { describeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { SourceChunk__Output, TileServiceClient, TileTask__Output } from '../shared/proto/tile-service.js';
import { DirectReadError, type DirectFiles } from './direct-sources.js';
import type { ScratchArrays } from './scratch-arrays.js';
import type { ProcessedTile, SourceStream } from './tile-processor.js';

/** How long a worker may take to receive one tile's source data. */
const SOURCE_DEADLINE_MS = 10 * 60_000;

export interface TileInputsOptions {
  readonly client: TileServiceClient;
  readonly workerId: string;
  readonly process: (task: TileTask__Output, sources: SourceStream, scratch: ScratchArrays) => Promise<ProcessedTile>;
  readonly directFiles?: DirectFiles;
}

/** A computed tile and, when the worker read the files itself, how many bytes it read. */
export type ComputedTile = ProcessedTile & { readonly timings: ProcessedTile['timings'] & { readonly directBytes?: number } };

export class TileInputs {
  readonly #options: TileInputsOptions;

  constructor(options: TileInputsOptions) {
    this.#options = options;
  }

  async compute(task: TileTask__Output, scratch: ScratchArrays, log: Logger): Promise<ComputedTile> {
    const { directFiles: files, process } = this.#options;
    const direct = files ? await files.open(task) : null;
    if (files && direct) {
      try {
        const processed = await process(task, direct, scratch);
        return { ...processed, timings: { ...processed.timings, directBytes: direct.bytes } };
      } catch (error) {
        if (!(error instanceof DirectReadError)) throw error;
        log.warn({ error: describeError(error) }, 'reading the input file directly failed; asking the master for the data');
        files.forget(error.file);
        scratch.releaseAll();
      } finally {
        direct.cancel();
      }
    }
    const sources = this.#readSources(task);
    try {
      return await process(task, sources, scratch);
    } finally {
      sources.cancel(); // a stream the computation did not read to its end (a no-op when it did)
    }
  }

  /**
   * The tile's source data, streamed from the master under this worker's lease. A failure reaches
   * whoever reads the stream; the listener only keeps one that arrives before reading starts (or
   * after the computation gave up on it) from being an uncaught 'error' event.
   */
  #readSources(task: TileTask__Output): grpc.ClientReadableStream<SourceChunk__Output> {
    const call = this.#options.client.ReadSources(
      { workerId: this.#options.workerId, taskId: task.taskId, attempt: task.attempt },
      { deadline: Date.now() + SOURCE_DEADLINE_MS },
    );
    call.on('error', () => undefined);
    return call;
  }

  async close(): Promise<void> {
    await this.#options.directFiles?.close();
  }
}
