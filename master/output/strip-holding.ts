/**
 * Strips that arrived before their turn, waiting to be written: in memory while they fit in a byte
 * budget, otherwise in spill files, read back when their turn comes. The budget bounds memory whatever
 * the arrival order: bufferedBytes never exceeds maxBufferedBytes.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { StripData } from '../../shared/png/strip-png.js';

type Held =
  | { readonly where: 'memory'; readonly data: StripData }
  | { readonly where: 'file'; readonly path: string; readonly adler32: number; readonly filteredLength: number; readonly chunked: boolean };

/** Bytes of an IDAT chunk around its data: length and type before, CRC after. */
const CHUNK_HEAD = 8;
const CHUNK_CRC = 4;

export interface HoldingStats {
  /** Deflate bytes of the strips held in memory now. */
  readonly bufferedBytes: number;
  readonly peakBufferedBytes: number;
  /** Strips written to spill files so far. */
  readonly spilledStrips: number;
}

export class StripHolding {
  private readonly held = new Map<string, Held>();
  private bufferedBytes = 0;
  private peakBufferedBytes = 0;
  private spilledStrips = 0;
  private spillDirReady: Promise<unknown> | undefined;

  /**
   * @param spillDir folder for spill files, created on the first spill
   * @param maxBufferedBytes most deflate bytes held in memory at once (0: every early strip is spilled)
   */
  constructor(
    private readonly spillDir: string,
    private readonly maxBufferedBytes: number,
  ) {
    if (!Number.isSafeInteger(maxBufferedBytes) || maxBufferedBytes < 0) {
      throw new RangeError(`strip holding: maxBufferedBytes ${maxBufferedBytes} must be a non-negative integer`);
    }
  }

  has(key: string): boolean {
    return this.held.has(key);
  }

  /**
   * Keep a strip under `key` (a file-name-safe string) until taken. A strip kept in memory is copied:
   * its bytes may be a view pinning a larger buffer (a whole gRPC message), which the budget would miss.
   */
  async hold(key: string, data: StripData): Promise<void> {
    if (this.held.has(key)) throw new RangeError(`strip holding: ${key} is already held`);
    const size = data.deflate.length;
    if (this.bufferedBytes + size <= this.maxBufferedBytes) {
      this.held.set(key, { where: 'memory', data: copied(data) });
      this.bufferedBytes += size;
      this.peakBufferedBytes = Math.max(this.peakBufferedBytes, this.bufferedBytes);
      return;
    }
    this.spillDirReady ??= mkdir(this.spillDir, { recursive: true });
    await this.spillDirReady;
    const path = join(this.spillDir, `${key}.deflate`);
    await writeFile(path, data.chunk ?? data.deflate);
    this.held.set(key, { where: 'file', path, adler32: data.adler32, filteredLength: data.filteredLength, chunked: data.chunk !== undefined });
    this.spilledStrips++;
  }

  /** The strip held under `key`, no longer held (its spill file read back and removed); undefined if none. */
  async take(key: string): Promise<StripData | undefined> {
    const held = this.held.get(key);
    if (!held) return undefined;
    if (held.where === 'memory') {
      this.held.delete(key);
      this.bufferedBytes -= held.data.deflate.length;
      return held.data;
    }
    const bytes = await readFile(held.path);
    this.held.delete(key);
    await rm(held.path, { force: true });
    const strip = { adler32: held.adler32, filteredLength: held.filteredLength };
    return held.chunked ? { ...strip, chunk: bytes, deflate: rowsOf(bytes) } : { ...strip, deflate: bytes };
  }

  /** Forgets the strip held under `key`, if any (its spill file removed). */
  async discard(key: string): Promise<void> {
    const held = this.held.get(key);
    if (!held) return;
    this.held.delete(key);
    if (held.where === 'memory') this.bufferedBytes -= held.data.deflate.length;
    else await rm(held.path, { force: true });
  }

  stats(): HoldingStats {
    return {
      bufferedBytes: this.bufferedBytes,
      peakBufferedBytes: this.peakBufferedBytes,
      spilledStrips: this.spilledStrips,
    };
  }
}

/** A copy owning its bytes: the stored chunk when there is one (the rows a view into it), else the rows. */
function copied(data: StripData): StripData {
  if (!data.chunk) return { ...data, deflate: Buffer.from(data.deflate) };
  const chunk = Buffer.from(data.chunk);
  return { ...data, chunk, deflate: rowsOf(chunk) };
}

/** The data of a stored chunk (length, type, data, CRC). */
function rowsOf(chunk: Buffer): Buffer {
  return chunk.subarray(CHUNK_HEAD, chunk.length - CHUNK_CRC);
}
