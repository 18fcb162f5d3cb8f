/**
 * One opener per embedded data directory. Two processes opening the same PGlite data directory corrupt
 * it (each runs its own "postmaster" on the same files; the next start aborts), so `dataDir/tessera.lock`
 * holds the owner's pid; a lock whose pid is no longer running is taken over.
 */
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TesseraError } from '../../shared/errors.js';

/** Another live process (or this one) already has the data directory open. */
export class DataDirInUseError extends TesseraError {}

export const LOCK_FILE_NAME = 'tessera.lock';

/**
 * Takes `dataDir/tessera.lock` for this process, or throws DataDirInUseError if a live process holds
 * it. The lock file is created whole (written aside, then hard-linked into place) so a reader never
 * sees it empty. Resolves to the function that releases it.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lockPath = join(dataDir, LOCK_FILE_NAME);
  const mine = `${process.pid}\n`;
  const draft = `${lockPath}.${process.pid}.${Date.now()}`;
  await writeFile(draft, mine);
  try {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        await link(draft, lockPath);
        return async () => {
          const content = await readFile(lockPath, 'utf8').catch(() => '');
          if (content === mine) await rm(lockPath, { force: true });
        };
      } catch (error) {
        if (!isErrno(error, 'EEXIST')) throw error;
      }
      const holder = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(holder) && holder > 0 && isRunning(holder)) {
        const who = holder === process.pid ? 'this process' : `process ${holder}`;
        throw new DataDirInUseError(
          `the embedded database in ${dataDir} is already open in ${who} (lock file ${lockPath}). ` +
            'Stop that tessera first, or use another data directory; ' +
            'if no tessera is running, delete the lock file.',
        );
      }
      // The holder is gone (or the file is garbage): take the lock over.
      await rm(lockPath, { force: true });
    }
    throw new DataDirInUseError(`could not take the lock file ${lockPath}: another process keeps taking it`);
  } finally {
    await rm(draft, { force: true });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrno(error, 'EPERM'); // it exists, but belongs to someone else
  }
}

export function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
