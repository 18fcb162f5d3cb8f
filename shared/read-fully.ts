/**
 * Fills a buffer from a file at a position, continuing after short reads (a read may return fewer
 * bytes than asked, e.g. on network file systems). Resolves to the bytes read: fewer than asked
 * only at the end of the file; callers that need them all say what is missing in their own words.
 */
import type { FileHandle } from 'node:fs/promises';

export async function readFully(handle: FileHandle, into: Uint8Array, position: number): Promise<number> {
  let filled = 0;
  while (filled < into.length) {
    const { bytesRead } = await handle.read(into, filled, into.length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}
