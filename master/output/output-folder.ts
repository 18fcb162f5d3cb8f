/**
 * The master's own output folder (OUTPUT_DIR): checked at start-up, so a folder the master cannot
 * write to is one clear message before anything is claimed, not a request that fails half-way; and
 * the same explanation for a filesystem failure while a request runs (a full disk, a folder whose
 * permissions changed), which is the master's own trouble and never a worker's fault.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TesseraError } from '../../shared/errors.js';

/** The master cannot write its outputs; the message names the folder and how to fix it. */
export class OutputFolderError extends TesseraError {}

const ADVICE: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
  ENOTDIR: 'a part of the path is not a folder',
};

/** Creates OUTPUT_DIR if needed and proves the master can write there; throws OutputFolderError if not. */
export async function checkOutputFolder(outputDir: string): Promise<void> {
  const probe = join(outputDir, `.tessera-write-check-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(outputDir, { recursive: true });
    await writeFile(probe, 'ok');
    await rm(probe, { force: true });
  } catch (error) {
    throw asOutputFolderError(error, outputDir) ?? error;
  }
}

/**
 * An OutputFolderError explaining a filesystem failure under `outputDir` (permission, read-only,
 * full disk), or undefined for anything else.
 */
export function asOutputFolderError(error: unknown, outputDir: string): OutputFolderError | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const problem = code ? ADVICE[code] : undefined;
  if (!problem) return undefined;
  const path = (error as NodeJS.ErrnoException).path ?? outputDir;
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  const fix =
    code === 'ENOSPC' || code === 'EDQUOT'
      ? `free space on the volume of ${outputDir}, or point OUTPUT_DIR elsewhere`
      : `make ${outputDir} writable by the master's user${uid === undefined ? '' : ` (uid ${uid})`}, e.g. chown -R ${uid ?? 1000} ${outputDir}, or point OUTPUT_DIR elsewhere`;
  return new OutputFolderError(`the master cannot write its outputs: ${problem} (${code}) at ${path}; ${fix}`, { cause: error });
}
