/**
 * Where a run writes its mosaics: the writer in the claim's own staging folder, its tally, and the
 * checkpointer that makes written strips durable. A claim that follows a crashed one takes over the
 * newest matching checkpoint of an older claim (resume-checkpoint.ts) and starts below the strips it
 * covers; then the older claims' staging folders are removed. A request asking for a COG is not
 * resumed (its staged pieces are not checkpointed): a later claim computes it again from the top.
 */
import type { Logger } from '../shared/logger.js';
import type { IndexName, MosaicJob } from '../shared/types.js';
import type { OutputGrid } from './output/georeference.js';
import { runFingerprint, takeOverCheckpoint } from './output/resume-checkpoint.js';
import { claimTag, removeStaleStaging, stagingFolderOf } from './output/staging-folders.js';
import { StripMosaicWriter } from './output/strip-mosaic-writer.js';
import { RunCheckpointer } from './run-checkpointer.js';
import { RunTally } from './run-tally.js';
import { StopRequested } from './strip-pipeline.js';
import { describeError } from '../shared/errors.js';
import type { PlannedStrip } from './source/strip-plan.js';
import type { RequestClaim } from './store/request-store.js';

export interface RunOutputOptions {
  /** OUTPUT_DIR/<request id>. */
  readonly finalDir: string;
  readonly claim: RequestClaim;
  readonly job: MosaicJob;
  readonly grid: OutputGrid;
  readonly crsWkt: string;
  readonly strips: readonly PlannedStrip[];
  readonly stripBufferBytes: number;
  /** How often (at most) written strips are checkpointed. */
  readonly checkpointEveryMs: number;
  /** When the master stops, keep the staging folder with a checkpoint for the next claim. */
  readonly resumable: boolean;
  readonly log: Logger;
}

export interface RunOutput {
  readonly writer: StripMosaicWriter;
  readonly tally: RunTally;
  readonly checkpointer: RunCheckpointer;
  /** Strips above this one came from an earlier claim's checkpoint. */
  readonly firstStrip: number;
  /**
   * The run ended without publishing: the master stopping keeps the staging folder with a fresh
   * checkpoint, for the next claim to resume; any other end removes it. Never throws (a cleanup
   * failure is logged: the error that ended the run is the one to report).
   */
  abandon(reason: unknown): Promise<void>;
}

export async function openRunOutput(options: RunOutputOptions): Promise<RunOutput> {
  const { finalDir, claim, job, grid, strips, log } = options;
  const tag = claimTag(claim);
  const stripRows = strips.map((strip) => strip.rows);
  const indices: readonly IndexName[] = job.indices;
  // Whatever decides the output bytes: a checkpoint of anything else (another plan) is not used.
  const fingerprint = runFingerprint({ job, grid, stripRows });
  // A COG's staged pieces are not part of a checkpoint: a request asking for one starts over.
  const resumable = !job.formats.includes('cog');
  const resumed = resumable ? await takeOverCheckpoint({ outputDir: finalDir, attempt: claim.attempt, fingerprint, indices, stagingDir: stagingFolderOf(finalDir, tag), log }) : undefined;
  await removeStaleStaging(finalDir, claim.attempt, log);
  const writer = new StripMosaicWriter({
    outputDir: finalDir,
    grid,
    indices,
    crsWkt: options.crsWkt,
    stripRows,
    maxBufferedBytes: options.stripBufferBytes,
    claimTag: tag,
    resume: resumed?.checkpoint.writer,
    formats: job.formats,
  });
  const tally = new RunTally();
  if (resumed) {
    tally.restore(resumed.checkpoint.strips);
    log.info({ strips: resumed.checkpoint.writer.strips, of: strips.length, from: resumed.folder }, 'resuming from an earlier claim\'s checkpoint');
  }
  const checkpointer = new RunCheckpointer({ writer, tally, fingerprint, everyMs: options.checkpointEveryMs, log });
  const abandon = async (reason: unknown): Promise<void> => {
    try {
      if (options.resumable && reason instanceof StopRequested) {
        await checkpointer.flush();
        await writer.suspend();
        log.info({ strips: checkpointer.savedStrips }, 'staging folder kept for the next claim to resume from');
      } else {
        await checkpointer.settle();
        await writer.abort();
      }
    } catch (cleanup) {
      log.warn({ error: describeError(cleanup) }, 'could not clean up the staging folder');
    }
  };
  return { writer, tally, checkpointer, firstStrip: resumed?.checkpoint.writer.strips ?? 0, abandon };
}
