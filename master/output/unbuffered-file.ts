/**
 * A file written front to back without going through the page cache (O_DIRECT), for the stitched
 * mosaics: the master writes every byte of them, 306 MB for a Sentinel-2 scene's two indices, and a
 * buffered write makes the kernel find, zero-fill and account a fresh page-cache page per 4 KiB.
 * Measured on the 2-core VM (2026-12-02): 308 MB buffered cost 0.5–1.1 s of kernel CPU, with
 * O_DIRECT 0.04 s; that was most of the master's share of a request.
 *
 * O_DIRECT wants the memory, the file offset and the length aligned to the device's block. Bytes
 * are therefore copied into an aligned staging buffer (a WebAssembly memory: its base is page-aligned)
 * and written a whole buffer at a time; the last, partial block is written padded and the file cut
 * back to its length, and is kept in the buffer so that the next append rewrites it whole.
 *
 * Where O_DIRECT is refused (tmpfs, some network or FUSE mounts: EINVAL at open or at the first
 * write), the file is written through the page cache as before; `direct` tells which. Reads,
 * truncation and syncs go through a second, ordinary descriptor: Linux keeps the page cache
 * coherent with direct writes.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { readFully } from '../../shared/read-fully.js';

/** Offsets and lengths of direct writes are multiples of this (covers 512-byte and 4 KiB sectors). */
const BLOCK = 4096;
/** The staging buffer: the size of one direct write (8 MiB, a full-scene strip fits in one or two). */
const STAGING_BYTES = 8 * 1024 * 1024;
const WASM_PAGE = 65536;

export interface UnbufferedFileOptions {
  /**
   * The memory bytes are staged in, a multiple of 4096 bytes; direct writes need it page-aligned.
   * Default: 8 MiB of aligned memory (alignedBuffer).
   */
  readonly staging?: Buffer;
}

export class UnbufferedFile {
  /** File offset of staging[0]: a multiple of BLOCK. */
  private stagedFrom = 0;
  /** Bytes in the staging buffer (from stagedFrom); the file's logical end is stagedFrom + staged. */
  private staged = 0;
  /** Operations run one after another (a sync or a read may come while an append is under way). */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly path: string,
    /** Reads, truncation, syncs, and the writes themselves when direct is off. */
    private readonly plain: FileHandle,
    private writer: { readonly handle: FileHandle; readonly staging: Buffer } | undefined,
    private end: number,
  ) {
    this.stagedFrom = end;
  }

  /**
   * Open `path` for writing: 'w+' creates or truncates it, 'r+' opens it as it is (appends continue
   * at its end; truncate() first to continue elsewhere).
   */
  static async open(path: string, flags: 'w+' | 'r+', options: UnbufferedFileOptions = {}): Promise<UnbufferedFile> {
    const staging = options.staging ?? alignedBuffer(STAGING_BYTES);
    if (staging.length === 0 || staging.length % BLOCK !== 0) throw new RangeError(`staging buffer of ${staging.length} bytes: a positive multiple of ${BLOCK} wanted`);
    const plain = await open(path, flags);
    try {
      const { size } = await plain.stat();
      const direct = await open(path, constants.O_WRONLY | constants.O_DIRECT).catch(() => undefined);
      const writer = direct ? { handle: direct, staging } : undefined;
      const file = new UnbufferedFile(path, plain, writer, size);
      await file.reload(size);
      return file;
    } catch (error) {
      await plain.close().catch(() => undefined);
      throw error;
    }
  }

  /** Whether writes bypass the page cache (false where the file system refused O_DIRECT). */
  get direct(): boolean {
    return this.writer !== undefined;
  }

  /** The file's length, with what is still staged. */
  get length(): number {
    return this.end;
  }

  /** Append `parts` at the end of the file (after the operations called before). */
  append(parts: readonly Uint8Array[]): Promise<void> {
    return this.inTurn(() => this.appendNow(parts));
  }

  /** Fills `into` with the bytes at `offset` (written or staged). */
  read(into: Buffer, offset: number): Promise<void> {
    return this.inTurn(() => this.readNow(into, offset));
  }

  /** Cut the file to `length` bytes; appends continue from there. */
  truncate(length: number): Promise<void> {
    return this.inTurn(async () => {
      await this.flush();
      await this.plain.truncate(length);
      this.end = length;
      await this.reload(length);
    });
  }

  /** Everything appended so far on the disk. */
  sync(): Promise<void> {
    return this.inTurn(async () => {
      await this.flush();
      await this.plain.datasync();
    });
  }

  /** Write what is staged and close the file. */
  close(): Promise<void> {
    return this.inTurn(async () => {
      try {
        await this.flush();
      } finally {
        await Promise.all([this.plain.close(), this.writer?.handle.close()]);
      }
    });
  }

  private inTurn<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(operation);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async appendNow(parts: readonly Uint8Array[]): Promise<void> {
    for (const [n, part] of parts.entries()) {
      let at = 0;
      while (this.writer && at < part.length) {
        const { staging } = this.writer;
        const take = Math.min(part.length - at, staging.length - this.staged);
        staging.set(part.subarray(at, at + take), this.staged);
        this.staged += take;
        this.end += take;
        at += take;
        if (this.staged === staging.length) await this.writeStaged();
      }
      if (!this.writer) {
        // Never direct, or refused just now: the rest through the page cache.
        const rest = [part.subarray(at), ...parts.slice(n + 1)];
        await writeAllAt(this.plain, rest, this.end);
        for (const piece of rest) this.end += piece.length;
        return;
      }
    }
  }

  private async readNow(into: Buffer, offset: number): Promise<void> {
    await this.flush();
    const read = await readFully(this.plain, into, offset);
    if (read < into.length) throw new RangeError(`${this.path}: ends at ${offset + read} bytes, ${offset + into.length} wanted`);
  }

  /**
   * Write the staged bytes (the last block padded, the file then cut back to its length) and keep
   * that partial block staged, for the next append to complete.
   */
  private async flush(): Promise<void> {
    if (!this.writer || this.staged === 0) return;
    const { staging } = this.writer;
    const padded = Math.ceil(this.staged / BLOCK) * BLOCK;
    staging.fill(0, this.staged, padded);
    if (!(await this.writeDirect(padded))) return;
    await this.plain.truncate(this.end);
    const tail = this.staged % BLOCK;
    staging.copyWithin(0, this.staged - tail, this.staged);
    this.stagedFrom += this.staged - tail;
    this.staged = tail;
  }

  /** The staging buffer is full: write it and start the next one. */
  private async writeStaged(): Promise<void> {
    if (!(await this.writeDirect(this.staged))) return;
    this.stagedFrom += this.staged;
    this.staged = 0;
  }

  /**
   * Write staging[0..length) at stagedFrom; false when the file system refused it, after which the
   * staged bytes have been written through the page cache and direct writes are off for good.
   */
  private async writeDirect(length: number): Promise<boolean> {
    const writer = this.writer!;
    try {
      await writeAllAt(writer.handle, [writer.staging.subarray(0, length)], this.stagedFrom);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
      this.writer = undefined;
      await writer.handle.close().catch(() => undefined);
      await writeAllAt(this.plain, [writer.staging.subarray(0, this.staged)], this.stagedFrom);
      this.staged = 0;
      return false;
    }
  }

  /** Stage the partial block before `length` (read back from the file) so appends from there rewrite it whole. */
  private async reload(length: number): Promise<void> {
    if (!this.writer) return;
    const tail = length % BLOCK;
    this.stagedFrom = length - tail;
    this.staged = 0;
    if (tail > 0) {
      if ((await readFully(this.plain, this.writer.staging.subarray(0, tail), this.stagedFrom)) < tail) {
        throw new RangeError(`${this.path}: shorter than its ${length} bytes`);
      }
      this.staged = tail;
    }
  }
}

/** `bytes` of page-aligned memory: a WebAssembly memory's base is page-aligned (the engine maps it whole). */
export function alignedBuffer(bytes: number): Buffer {
  const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / WASM_PAGE), maximum: Math.ceil(bytes / WASM_PAGE) });
  return Buffer.from(memory.buffer, 0, bytes);
}

/** Write all of `parts` at `position`, continuing after short writes. */
async function writeAllAt(handle: FileHandle, parts: readonly Uint8Array[], position: number): Promise<void> {
  let pending = parts.filter((part) => part.length > 0);
  let written = 0;
  while (pending.length > 0) {
    const { bytesWritten } = await handle.writev(pending, position + written);
    written += bytesWritten;
    pending = dropBytes(pending, bytesWritten);
  }
}

function dropBytes(parts: readonly Uint8Array[], count: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  let skip = count;
  for (const part of parts) {
    if (skip >= part.length) {
      skip -= part.length;
    } else {
      rest.push(skip > 0 ? part.subarray(skip) : part);
      skip = 0;
    }
  }
  return rest;
}
