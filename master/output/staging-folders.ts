/**
 * Each claim of a request writes its outputs in a staging folder of its own, `<id>.partial-<claim>-…`
 * beside the final `<id>` folder, so two masters that both believe they run the request (one of
 * them stalled past its claim) never write into, or clean up, the same folder; only the claim's
 * holder publishes (renames its folder into place). A new claim removes the staging folders of
 * older claims of the request (their masters are dead or have lost the claim), after taking over
 * what their checkpoints say is done (resume-checkpoint.ts).
 */
import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { describeError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { RequestClaim } from '../store/request-store.js';

/** The part of a staging folder's name that names the claim: its attempt, then something unique. */
export function claimTag(claim: RequestClaim): string {
  return `${claim.attempt}-${randomBytes(4).toString('hex')}`;
}

/** The staging folder of `outputDir` for a claim tagged `tag`. */
export function stagingFolderOf(outputDir: string, tag: string): string {
  return `${outputDir}.partial-${tag}`;
}

/** A staging folder left by an earlier claim of the request (attempt 0: one of an older version, unsuffixed). */
export interface OlderStaging {
  readonly path: string;
  readonly attempt: number;
}

/** Staging folders of `outputDir` left by claims older than `attempt`, newest claim first. */
export async function olderStagingFolders(outputDir: string, attempt: number): Promise<OlderStaging[]> {
  const parent = dirname(outputDir);
  const prefix = `${basename(outputDir)}.partial`;
  let names: string[];
  try {
    names = await readdir(parent);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const found: OlderStaging[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    const claimed = /^-(\d+)-/.exec(rest);
    const olderAttempt = rest === '' ? 0 : claimed ? Number(claimed[1]) : undefined;
    if (olderAttempt !== undefined && olderAttempt < attempt) found.push({ path: join(parent, name), attempt: olderAttempt });
  }
  return found.sort((a, b) => b.attempt - a.attempt);
}

/** Removes staging folders of `outputDir` left by claims older than `attempt` (and the unsuffixed one of older versions). */
export async function removeStaleStaging(outputDir: string, attempt: number, log: Logger): Promise<void> {
  for (const { path } of await olderStagingFolders(outputDir, attempt)) {
    await rm(path, { recursive: true, force: true }).catch((error: unknown) =>
      log.warn({ folder: path, error: describeError(error) }, 'could not remove an older claim\'s staging folder'),
    );
  }
}
