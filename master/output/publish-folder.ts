/**
 * Publishing a finished output folder in one step: the staging folder is renamed to its final name, so
 * a half-written mosaic never looks finished. An earlier run's folder of that name is moved aside
 * first (a rename cannot replace a non-empty folder) and removed afterwards.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';

/** Rename `stagingDir` to `outputDir`, replacing a folder already there. */
export async function publishFolder(stagingDir: string, outputDir: string): Promise<void> {
  const previous = `${outputDir}.old-${randomBytes(6).toString('hex')}`;
  const hadPrevious = await exists(outputDir);
  if (hadPrevious) await rename(outputDir, previous);
  await rename(stagingDir, outputDir);
  if (hadPrevious) await rm(previous, { recursive: true, force: true });
}

export interface SyncedPublish {
  readonly staging: string;
  readonly final: string;
  /** Files in the staging folder to be on the disk before it is published. */
  readonly files: readonly string[];
  /** fdatasyncs files (syncFiles below; tests pass their own). */
  readonly syncFiles: (paths: readonly string[]) => Promise<void>;
  /** Work done while `files` are synced, before publishing (it may add files to the staging folder). */
  readonly meanwhile?: (() => Promise<void>) | undefined;
}

/**
 * Sync `files` while `meanwhile` works, then publish the folder: published only once both are done,
 * the files are whole after a crash. (A mosaic's PNGs sync while its previews and manifest are
 * written, 0.1-0.2 s on a full scene; synced one after the other, the manifest's fsync waited
 * ~0.1 s for their data.)
 */
export async function publishWhenSynced(publish: SyncedPublish): Promise<void> {
  await Promise.all([publish.syncFiles(publish.files), publish.meanwhile?.()]);
  await publishFolder(publish.staging, publish.final);
}

/** fdatasync each of `paths`, all at once (a read-only descriptor is all fdatasync needs). */
export async function syncFiles(paths: readonly string[]): Promise<void> {
  await Promise.all(
    paths.map(async (path) => {
      const handle = await open(path, 'r');
      try {
        await handle.datasync();
      } finally {
        await handle.close();
      }
    }),
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
