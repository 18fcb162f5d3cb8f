/**
 * Streams a strip's source windows part by part: a local file's stored blocks read straight into the
 * messages that carry them (source-chunk-wire.ts), a remote file's blocks in batches through its
 * block cache, and windows the master decodes as little-endian samples; every part cut into chunks of
 * at most `chunkBytes`. Parts of DEFLATE windows carry no CRC (their zlib Adler-32 checks them).
 */
import { endianness } from 'node:os';
import { crc32 } from '../../shared/checksum.js';
import { SourceReadError } from '../../shared/errors.js';
import { chunkMessage, type MessageMemory } from '../../shared/proto/source-chunk-wire.js';
import type { SourceChunk } from '../../shared/proto/tile-service.js';
import type { SampleArray } from '../../shared/types.js';
import type { LocalFile } from './local-file.js';
import { ZLIB_COMPRESSIONS, readStoredBlocks, type PixelWindow, type StoredBlock } from './stored-blocks.js';
import type { BandSource } from './band-source.js';

/** One window of one file, with the samples the strip's bands read from it. */
export interface Group extends PixelWindow {
  readonly source: BandSource;
  readonly samples: Set<number>;
}

/** A window as it will travel: its description, and its stored blocks when shipped encoded. */
export interface PlannedWindow {
  readonly group: Group;
  readonly samples: readonly number[];
  readonly blocks: readonly StoredBlock[] | null;
  readonly bytes: number;
}

/** Runs a read of `group`; failures become SourceReadError naming the file and window. */
export async function withReadContext<T>(group: Group, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof SourceReadError || (error instanceof Error && error.name === 'AbortError')) throw error;
    const window = `window (${group.x0}, ${group.y0}) ${group.width}×${group.height}`;
    throw new SourceReadError(`${group.source.label}: cannot read ${window}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

export async function* streamWindows(windows: readonly PlannedWindow[], chunkBytes: number, signal?: AbortSignal, memory?: MessageMemory): AsyncGenerator<SourceChunk> {
  for (const [source, window] of windows.entries()) {
    if (window.bytes === 0) continue;
    const local = window.group.source.file.local;
    if (window.blocks && local) {
      yield* withReadContextAll(window.group, localBlockChunks(source, window, window.blocks, local, chunkBytes, signal, memory));
      continue;
    }
    const parts = window.blocks ? encodedParts(window, window.blocks, signal) : decodedParts(window, signal);
    const iterator = parts[Symbol.asyncIterator]();
    for (;;) {
      signal?.throwIfAborted();
      const next = await withReadContext(window.group, () => iterator.next());
      if (next.done) break;
      yield* split(source, next.value.part, next.value.data, chunkBytes, zlibChecked(window));
    }
  }
}

/**
 * A local file's stored blocks, each read straight into the SourceChunk message that carries it
 * (source-chunk-wire.ts), the next block's read under way while one is sent.
 */
async function* localBlockChunks(
  source: number,
  window: PlannedWindow,
  blocks: readonly StoredBlock[],
  file: LocalFile,
  chunkBytes: number,
  signal?: AbortSignal,
  memory?: MessageMemory,
): AsyncGenerator<SourceChunk> {
  const checked = zlibChecked(window);
  const pieces = blocks.flatMap((block, part) => {
    const out: { part: number; offset: number; length: number; last: boolean; block: StoredBlock }[] = [];
    for (let start = 0; start < block.byteCount; start += chunkBytes) {
      const length = Math.min(chunkBytes, block.byteCount - start);
      out.push({ part, offset: block.offset + start, length, last: start + length >= block.byteCount, block });
    }
    return out;
  });
  const read = async (piece: (typeof pieces)[number]): Promise<SourceChunk> => {
    const message = chunkMessage({ source, part: piece.part, last: piece.last, zlibChecked: checked }, piece.length, memory);
    const got = await file.readInto(message.data, piece.offset);
    if (got < piece.length) {
      throw new SourceReadError(`${window.group.source.label}: block (${piece.block.column}, ${piece.block.row}) is truncated: the file ends ${piece.length - got} bytes short of it`);
    }
    return message.seal(checked ? 0 : crc32(message.data));
  };
  let next = pieces[0] ? read(pieces[0]) : undefined;
  for (let at = 0; at < pieces.length; at++) {
    signal?.throwIfAborted();
    const current = await next!;
    next = pieces[at + 1] ? read(pieces[at + 1]!) : undefined;
    next?.catch(() => undefined); // reported when its turn comes
    yield current;
  }
}

async function* encodedParts(window: PlannedWindow, blocks: readonly StoredBlock[], signal?: AbortSignal): AsyncGenerator<{ part: number; data: Buffer }> {
  const partOf = new Map(blocks.map((block, part) => [block, part]));
  for await (const { block, data } of readStoredBlocks(window.group.source, blocks, signal)) yield { part: partOf.get(block)!, data };
}

async function* decodedParts(window: PlannedWindow, signal?: AbortSignal): AsyncGenerator<{ part: number; data: Buffer }> {
  const { group } = window;
  const arrays = await group.source.file.image.readRasters({
    window: [group.x0, group.y0, group.x0 + group.width, group.y0 + group.height],
    samples: [...window.samples],
    interleave: false,
    signal,
  });
  for (const [part, array] of arrays.entries()) yield { part, data: littleEndianBytes(array) };
}

/**
 * Whether the window's parts are zlib streams (TIFF DEFLATE blocks), whose Adler-32 the worker's
 * inflate checks: then no CRC is computed. On a full Sentinel-2 tile that is 570 MB the master
 * would otherwise run through crc32 for nothing.
 */
function zlibChecked(window: PlannedWindow): boolean {
  return window.blocks !== null && ZLIB_COMPRESSIONS.has(window.group.source.compression);
}

function* split(source: number, part: number, data: Buffer, chunkBytes: number, zlibChecked: boolean): Generator<SourceChunk> {
  for (let start = 0; start < data.length; start += chunkBytes) {
    const piece = data.subarray(start, Math.min(data.length, start + chunkBytes));
    const last = start + chunkBytes >= data.length;
    yield zlibChecked ? { source, part, data: piece, checksum: 0, last, zlibChecked } : { source, part, data: piece, checksum: crc32(piece), last };
  }
}

/** Every item of `chunks`, with read failures named as withReadContext names them. */
async function* withReadContextAll(group: Group, chunks: AsyncGenerator<SourceChunk>): AsyncGenerator<SourceChunk> {
  for (;;) {
    const next = await withReadContext(group, () => chunks.next());
    if (next.done) return;
    yield next.value;
  }
}

/** The array's values as little-endian bytes (a copy). */
function littleEndianBytes(array: SampleArray | ArrayLike<number>): Buffer {
  if (!ArrayBuffer.isView(array)) throw new Error('readRasters returned a non-typed array');
  const typed = array as SampleArray;
  const copy = Buffer.from(Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength));
  if (endianness() === 'BE') {
    if (typed.BYTES_PER_ELEMENT === 2) copy.swap16();
    else if (typed.BYTES_PER_ELEMENT === 4) copy.swap32();
    else if (typed.BYTES_PER_ELEMENT === 8) copy.swap64();
  }
  return copy;
}
