/**
 * Durable progress of a run, so a master that takes over a crashed master's request continues from
 * what was done instead of starting again. A run's staging folder holds `checkpoint.json`: how many
 * strips from the top every index's files hold (with each file's length and Adler-32 state there),
 * and what the run's tally knew of those strips. It is written (atomically, by rename) only after
 * those bytes are on the disk, so the files are always at least that long and that far right.
 *
 * A new claim looks in the staging folders of older claims, newest first, for a checkpoint of the
 * same job (same fingerprint), copies its files into its own staging folder (never writing in the
 * old one: its master may only be paused) and carries on from there.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { IndexName, IndexStats } from '../../shared/types.js';
import type { StripRecord } from '../run-tally.js';
import { mosaicFiles } from './mosaic-files.js';
import { olderStagingFolders } from './staging-folders.js';
import type { StitcherState } from './png-stitcher.js';
import type { LaneState } from './strip-lane.js';
import type { WriterCheckpoint } from './strip-mosaic-writer.js';

const FILE = 'checkpoint.json';

export interface RunCheckpoint {
  readonly version: 1;
  /** Of the job and its strip plan (runFingerprint): a checkpoint of anything else is not used. */
  readonly fingerprint: string;
  readonly writer: WriterCheckpoint;
  /** The tally's record of strips 0..writer.strips-1. */
  readonly strips: readonly StripRecord[];
}

/** Where a run resumes: a checkpoint and the older staging folder it was found in. */
export interface ResumePoint {
  readonly checkpoint: RunCheckpoint;
  readonly folder: string;
}

/** A stable digest of whatever decides a run's output bytes (the job, grid and strip plan). */
export function runFingerprint(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** Writes the checkpoint into `stagingDir`, replacing the previous one in one step. */
export async function saveCheckpoint(stagingDir: string, checkpoint: RunCheckpoint): Promise<void> {
  const temporary = join(stagingDir, `${FILE}.next`);
  await writeFile(temporary, JSON.stringify(checkpoint));
  await rename(temporary, join(stagingDir, FILE));
}

/** Removes the checkpoint from `stagingDir` (it covers strips taken back out of the files). */
export async function removeCheckpoint(stagingDir: string): Promise<void> {
  await rm(join(stagingDir, FILE), { force: true });
}

/** The checkpoint in `folder`, when there is a well-formed one. */
export async function readCheckpoint(folder: string): Promise<RunCheckpoint | undefined> {
  let text: string;
  try {
    text = await readFile(join(folder, FILE), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    return isRunCheckpoint(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The newest checkpoint of an older claim of `outputDir`'s request with this fingerprint, copied
 * into `stagingDir` (created): the run there may carry on from it. Undefined when there is none
 * usable; a folder that cannot be read or copied is passed over (and logged), never fatal.
 */
export async function takeOverCheckpoint(options: {
  readonly outputDir: string;
  readonly attempt: number;
  readonly fingerprint: string;
  readonly indices: readonly IndexName[];
  readonly stagingDir: string;
  readonly log: Logger;
}): Promise<ResumePoint | undefined> {
  for (const older of await olderStagingFolders(options.outputDir, options.attempt)) {
    const checkpoint = await readCheckpoint(older.path);
    if (!checkpoint || checkpoint.fingerprint !== options.fingerprint) continue;
    if (!options.indices.every((index) => checkpoint.writer.lanes[index])) continue;
    try {
      await rm(options.stagingDir, { recursive: true, force: true });
      await mkdir(options.stagingDir, { recursive: true });
      for (const index of options.indices) {
        const from = mosaicFiles(older.path, index);
        const to = mosaicFiles(options.stagingDir, index);
        // A copy-on-write clone where the filesystem has them; the writer cuts the copies back to the checkpoint.
        await copyFile(from.png, to.png, constants.COPYFILE_FICLONE);
        await copyFile(from.colorPng, to.colorPng, constants.COPYFILE_FICLONE);
      }
      return { checkpoint, folder: older.path };
    } catch (error) {
      options.log.warn({ folder: older.path, error: describeError(error) }, 'could not take over an earlier claim\'s checkpoint; passing it over');
    }
  }
  return undefined;
}

function isRunCheckpoint(value: unknown): value is RunCheckpoint {
  if (!isObject(value) || value['version'] !== 1 || typeof value['fingerprint'] !== 'string') return false;
  const writer = value['writer'];
  const strips = value['strips'];
  if (!isObject(writer) || !isCount(writer['strips']) || writer['strips'] < 1 || !isObject(writer['lanes'])) return false;
  if (!Object.values(writer['lanes']).every(isLaneState)) return false;
  return Array.isArray(strips) && strips.length === writer['strips'] && strips.every(isStripRecord);
}

function isLaneState(value: unknown): value is LaneState {
  return isObject(value) && isStitcherState(value['grey']) && isStitcherState(value['colour']);
}

function isStitcherState(value: unknown): value is StitcherState {
  return isObject(value) && isCount(value['bytes']) && isCount(value['adler']) && isCount(value['filteredBytes']);
}

function isStripRecord(value: unknown): value is StripRecord {
  if (!isObject(value) || typeof value['worker'] !== 'string' || !isObject(value['stats'])) return false;
  return Object.values(value['stats']).every(isIndexStats);
}

function isIndexStats(value: unknown): value is IndexStats {
  if (!isObject(value)) return false;
  return ['validPixels', 'min', 'max', 'sum'].every((key) => typeof value[key] === 'number' && Number.isFinite(value[key]));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
