/**
 * Positional reads of a local file into buffers the caller owns, for the stored blocks the master
 * sends (geotiff's file source allocates a zeroed array for every read), and its identity for workers
 * that read it themselves. Opened on first use, closed with the band set.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { readFully } from '../../shared/read-fully.js';

/** What identifies a file's contents to a worker that reads it itself (proto DirectRead). */
export interface FileIdentity {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
}

export class LocalFile {
  readonly #path: string;
  #handle: Promise<FileHandle> | undefined;
  #identity: Promise<FileIdentity> | undefined;

  constructor(path: string) {
    this.#path = path;
  }

  /** Fills `into` from byte `position` of the file; resolves to the bytes read (fewer at the end of the file). */
  async readInto(into: Uint8Array, position: number): Promise<number> {
    this.#handle ??= open(this.#path, 'r');
    return readFully(await this.#handle, into, position);
  }

  /** The file's path, size and modification time, read once from the open file. */
  identity(): Promise<FileIdentity> {
    this.#identity ??= (async () => {
      this.#handle ??= open(this.#path, 'r');
      const stats = await (await this.#handle).stat();
      return { path: this.#path, size: stats.size, mtimeMs: stats.mtimeMs };
    })();
    return this.#identity;
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await (await handle?.catch(() => undefined))?.close();
  }
}
