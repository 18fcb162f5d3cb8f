/**
 * Removes a purged request's output folder, and only when it lies inside OUTPUT_DIR: the path comes
 * from a database row, which anyone allowed to update rows could point at /etc or at OUTPUT_DIR
 * itself. Symbolic links are resolved first, so a link inside OUTPUT_DIR to somewhere else is
 * refused too (and left as it is).
 */
import { realpath, rm } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';

export type FolderRemoval =
  | { readonly outcome: 'removed' | 'absent' }
  | { readonly outcome: 'refused'; readonly reason: string };

/** Removes `folder` (recursively) if it resolves to a path strictly inside `outputRoot`. */
export async function removeOutputFolder(folder: string, outputRoot: string): Promise<FolderRemoval> {
  if (!isAbsolute(folder)) return { outcome: 'refused', reason: 'not an absolute path' };
  const root = await realpath(outputRoot);
  let target: string;
  try {
    target = await realpath(folder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { outcome: 'absent' };
    throw error;
  }
  const inside = relative(root, target);
  if (inside === '') return { outcome: 'refused', reason: 'it is OUTPUT_DIR itself' };
  if (inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
    return { outcome: 'refused', reason: `it is outside OUTPUT_DIR (${root})${target === folder ? '' : ` once resolved to ${target}`}` };
  }
  await rm(target, { recursive: true, force: true });
  return { outcome: 'removed' };
}
