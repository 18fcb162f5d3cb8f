/**
 * Positional reads of a local file into buffers the caller owns, for the stored blocks the master
 * sends (geotiff's file source allocates a zeroed array for every read). Opened on first use, closed
 * with the band set.
 */
import { open, type FileHandle } from 'node:fs/promises';

export class LocalFile {
  readonly #path: string;
  #handle: Promise<FileHandle> | undefined;

  constructor(path: string) {
    this.#path = path;
  }

  /** Fills `into` from byte `position` of the file; resolves to the bytes read (fewer at the end of the file). */
  async readInto(into: Uint8Array, position: number): Promise<number> {
    this.#handle ??= open(this.#path, 'r');
    const handle = await this.#handle;
    let filled = 0;
    while (filled < into.length) {
      const { bytesRead } = await handle.read(into, filled, into.length - filled, position + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled;
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await (await handle?.catch(() => undefined))?.close();
  }
}
