/**
 * The compression libraries a worker's tiles use, made once per worker process: what inflates the
 * inputs' DEFLATE blocks (INFLATE_LIBRARY: libdeflate or node:zlib) and what compresses the strips
 * (the task's strip_deflate: node:zlib or ISA-L, loaded when a task first asks for it).
 */
import type { InflateLibrary } from '../shared/config/worker-config.js';
import type { Logger } from '../shared/logger.js';
import { StripDeflaters } from '../shared/png/strip-deflater.js';
import { ZlibInflater, createBlockInflater, type BlockInflater } from '../shared/raster/block-inflater.js';

export interface TileCodecs {
  readonly inflater: BlockInflater;
  readonly deflaters: StripDeflaters;
}

/** node:zlib for the blocks, and the strip deflaters (for tests and callers without a configuration). */
export function defaultTileCodecs(): TileCodecs {
  return { inflater: new ZlibInflater(), deflaters: new StripDeflaters() };
}

/** The codecs INFLATE_LIBRARY asks for; `close` frees their native memory once the worker has stopped. */
export async function createTileCodecs(library: InflateLibrary, log: Logger): Promise<TileCodecs & { close(): void }> {
  const inflater = await createBlockInflater(library, { log });
  const deflaters = new StripDeflaters();
  return {
    inflater,
    deflaters,
    close: () => {
      inflater.close();
      deflaters.close();
    },
  };
}
