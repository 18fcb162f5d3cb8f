/**
 * A tile's source data read by the worker itself, from the master's own input files where this
 * worker sees them (the same machine, or the same volume mounted at the same path) or from the
 * http(s) server the master reads them from: the master then reads and ships nothing for the tile,
 * which is most of its work per strip. A file is used only when it is the one the master planned
 * with (block-files.ts); otherwise, or with DIRECT_READS=off, the worker calls ReadSources as before.
 *
 * The chunks made here are the ones ReadSources would send (one per stored block, in task order), so
 * the SourceAssembler checks and decodes them the same way.
 */
import { BufferPool } from '../shared/buffer-pool.js';
import { crc32 } from '../shared/checksum.js';
import type { DirectRead__Output } from '../shared/proto/generated/tessera/v1/DirectRead.js';
import type { TileTask__Output } from '../shared/proto/tile-service.js';
import { openBlockFile, type BlockFile } from './block-files.js';
import type { SourceChunkIn } from './source-assembler.js';

export { DirectReadError } from './block-files.js';

/** Blocks being read at once, ahead of the one the assembler takes. */
const READ_AHEAD = 3;

/** Open files kept for the next strips (a request reads a handful; more are closed, oldest first). */
const KEEP_OPEN = 32;

/**
 * Read buffers kept for reuse: enough for the blocks being read and decoded at once (READ_AHEAD, the
 * assembler's few decodes, a second tile slot). Each is at least 4 MiB, more than a 1024² uint16
 * DEFLATE block, so one buffer fits any block of a Sentinel-2 COG.
 */
const READ_BUFFERS = { keep: 16, minimumSize: 4 * 1024 * 1024 } as const;

/** Source data of one tile, read from the files: iterate it once; `cancel` stops the reads. */
export interface DirectSourceStream extends AsyncIterable<SourceChunkIn> {
  /** Bytes read from the files so far. */
  readonly bytes: number;
  cancel(): void;
}

/** The files one worker reads directly: opened and checked once, kept open across strips. */
export class DirectFiles {
  /** By path or URL, size, mtime and ETag: a file replaced under the same name is a different entry. */
  readonly #files = new Map<string, Promise<BlockFile | null>>();
  /** Blocks are read into these and given back once decoded: no garbage per block to wait for the GC. */
  readonly #buffers = new BufferPool(READ_BUFFERS);

  /**
   * The task's source data read from the files, or null when any window with data is not a local
   * file this worker sees exactly as the master does (then ReadSources is the way).
   */
  async open(task: TileTask__Output): Promise<DirectSourceStream | null> {
    const windows = task.sources;
    const wanted = windows.filter((window) => window.width * window.height > 0);
    if (wanted.length === 0 || wanted.some((window) => !window.encoded?.direct)) return null;
    const files = new Map<number, BlockFile>();
    for (const [at, window] of windows.entries()) {
      if (window.width * window.height === 0) continue;
      const file = await this.#file(window.encoded!.direct!);
      if (!file) return null;
      files.set(at, file);
    }
    // Part numbers count every block of the window, sparse ones (nothing stored, nothing read) too.
    const reads = windows.flatMap((window, source) =>
      window.width * window.height === 0
        ? []
        : (window.encoded?.blocks ?? []).flatMap((block, part) =>
            block.byteCount === 0
              ? []
              : [
                  {
                    source,
                    part,
                    offset: block.offset,
                    length: block.byteCount,
                    zlib: window.encoded!.compression === 8 || window.encoded!.compression === 32946,
                    file: files.get(source)!,
                  },
                ],
          ),
    );
    return new BlockReads(reads, this.#buffers);
  }

  /** After a failed read: the file (path or URL) is not used directly again until it changes. */
  forget(name: string): void {
    for (const key of this.#files.keys()) if (key.startsWith(`${name}\u0000`)) this.#files.set(key, Promise.resolve(null));
  }

  async close(): Promise<void> {
    const files = [...this.#files.values()];
    this.#files.clear();
    await Promise.all(files.map(async (file) => (await file)?.close().catch(() => undefined)));
  }

  #file(direct: DirectRead__Output): Promise<BlockFile | null> {
    const key = `${direct.path ?? direct.url}\u0000${direct.size}\u0000${direct.mtimeMs}\u0000${direct.etag}`;
    let file = this.#files.get(key);
    if (!file) {
      file = openBlockFile(direct).catch(() => null);
      this.#files.set(key, file);
      this.#closeOldest();
    }
    return file;
  }

  #closeOldest(): void {
    while (this.#files.size > KEEP_OPEN) {
      const [key, file] = this.#files.entries().next().value!;
      this.#files.delete(key);
      void file.then((handle) => handle?.close()).catch(() => undefined);
    }
  }
}

interface BlockRead {
  readonly source: number;
  readonly part: number;
  readonly offset: number;
  readonly length: number;
  readonly zlib: boolean;
  readonly file: BlockFile;
}

class BlockReads implements DirectSourceStream {
  readonly #reads: readonly BlockRead[];
  readonly #buffers: BufferPool;
  #cancelled = false;
  #bytes = 0;

  constructor(reads: readonly BlockRead[], buffers: BufferPool) {
    this.#reads = reads;
    this.#buffers = buffers;
  }

  get bytes(): number {
    return this.#bytes;
  }

  cancel(): void {
    this.#cancelled = true;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<SourceChunkIn> {
    const pending: Promise<SourceChunkIn>[] = [];
    let next = 0;
    const refill = (): void => {
      while (pending.length < READ_AHEAD && next < this.#reads.length) {
        const read = readBlock(this.#reads[next++]!, this.#buffers);
        read.catch(() => undefined); // reported when its turn comes
        pending.push(read);
      }
    };
    refill();
    while (pending.length > 0 && !this.#cancelled) {
      const chunk = await pending.shift()!;
      this.#bytes += chunk.data.length;
      refill();
      yield chunk;
    }
  }
}

async function readBlock(read: BlockRead, buffers: BufferPool): Promise<SourceChunkIn> {
  const buffer = buffers.take(read.length);
  const data = buffer.subarray(0, read.length);
  await read.file.read(data, read.offset);
  const release = (): void => buffers.give(buffer);
  // Zlib streams check themselves (their Adler-32, on inflate); other blocks get the CRC the assembler checks.
  return { source: read.source, part: read.part, data, checksum: read.zlib ? 0 : crc32(data), last: true, zlibChecked: read.zlib, release };
}
