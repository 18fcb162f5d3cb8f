/**
 * Looks at a local path before geotiff opens it: that it is a regular file, readable, not empty,
 * and starts with a TIFF header (fromFile keeps its file descriptor open when the header is bad).
 * Each problem is said in words a user acts on, not as an errno.
 */
import { open, stat } from 'node:fs/promises';
import { notTiffReason } from './tiff-signature.js';

/** An errno from opening or reading the file, said plainly; the raw message when it is another. */
export function describeFileError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file (the path is read on the master\'s machine; in Docker, input files live under /data/input)';
    case 'ENOTDIR':
      return 'no such file (a part of the path is not a folder)';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied: the master may not read this file';
    case 'EISDIR':
      return 'it is a folder, not a file: name the GeoTIFF inside it';
    case 'ELOOP':
      return 'the path is a loop of symbolic links';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

/** Throws an Error with a plain message unless `path` is a readable regular file starting like a TIFF. */
export async function checkLocalTiff(path: string): Promise<void> {
  let size: number;
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
    if (!info.isFile()) throw new Error('it is not a regular file (a device, socket or pipe)');
    size = info.size;
  } catch (error) {
    throw new Error(describeFileError(error), { cause: error });
  }
  let head: Uint8Array;
  try {
    const handle = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(16);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      head = buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw new Error(describeFileError(error), { cause: error });
  }
  const reason = notTiffReason(head, size);
  if (reason) throw new Error(reason);
}
