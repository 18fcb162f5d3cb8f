/**
 * Verified answers (VERIFY_FRACTION): a sampled strip is computed by two different workers and their
 * results compared; on a disagreement a third worker decides and the one in the minority is banned
 * from the run.
 *
 * - The first result is checked (as every result is) and held, not stitched. A replica, eligible to
 *   any worker but the first (by worker id), goes to the front of the queue.
 * - Results are compared by a SHA-256 of what would enter the outputs and the manifest: each index's
 *   PNG bytes, statistics and preview samples (not the timings). Equal: the strip is stitched and both workers count
 *   it verified.
 * - Different: an arbiter, eligible to neither, decides. Its result is stitched if it matches one of
 *   the two; the other worker is in the minority and banned (`onBan`). No match, or no third worker
 *   within the wait: the request fails with a VerificationError (nobody can tell who is right).
 * - No second worker takes the replica within `waitMs` (one worker only): the first result is
 *   stitched, counted unverified; never a hang. Its worker banned meanwhile: the strip is computed
 *   again by someone else instead.
 */
import { createHash } from 'node:crypto';
import { VerificationError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { SubmitResultRequest__Output } from '../shared/proto/tile-service.js';
import { UntakenTileError, sameWorker, type RunRef, type TileDispatcher, type TileOffer, type WorkerRef } from './dispatch/tile-dispatcher.js';
import type { VerificationTally } from './verification-tally.js';

/** A result that passed its checks, ready to be stitched. */
export interface CheckedResult<T> {
  readonly data: T;
  readonly digest: string;
}

/** One strip's offer without its acceptance, which verification supplies. */
export type StripOffer = Omit<TileOffer, 'accept' | 'eligible' | 'maxWaitMs' | 'urgent'>;

export interface StripWork<T> {
  readonly offer: StripOffer;
  /** Checks a result against its strip (throws RejectedResultError when it does not fit). */
  readonly check: (result: SubmitResultRequest__Output) => CheckedResult<T>;
  /** Puts a checked result into the mosaic, credited to `worker`, `verified` (by another worker) or not. */
  readonly stitch: (data: T, worker: WorkerRef, verified: boolean) => Promise<void>;
  /** Computes the strip afresh, unverified (its first worker was banned before anyone checked it). */
  readonly recompute: () => Promise<void>;
}

export interface StripVerifierOptions {
  readonly dispatcher: Pick<TileDispatcher, 'dispatch' | 'isBanned'>;
  readonly run: RunRef;
  /** How long a replica or arbiter waits for an eligible worker before it is given up. */
  readonly waitMs: number;
  readonly tally: VerificationTally;
  /** `worker` was outvoted on `strip`: ban it and redo what it did unchecked. */
  readonly onBan: (worker: WorkerRef, strip: number) => Promise<void>;
  readonly log: Logger;
}

interface Answer<T> {
  readonly worker: WorkerRef;
  readonly checked: CheckedResult<T>;
}

export class StripVerifier {
  readonly #options: StripVerifierOptions;

  constructor(options: StripVerifierOptions) {
    this.#options = options;
  }

  /** Computes a sampled strip on two workers (three on a disagreement) and stitches the majority's result. */
  async verify<T>(work: StripWork<T>): Promise<void> {
    const { tally, log } = this.#options;
    const strip = work.offer.tileIndex;
    tally.sampled();
    const first = await this.#compute(work, {}, () => Promise.resolve());
    const agreed = async (answer: Answer<T>): Promise<boolean> => {
      if (answer.checked.digest !== first.checked.digest) return false;
      // Credited to the first worker, unless it was banned meanwhile (for another strip).
      const banned = this.#options.dispatcher.isBanned(this.#options.run, first.worker);
      await work.stitch(answer.checked.data, banned ? answer.worker : first.worker, true);
      return true;
    };
    let second: Answer<T>;
    try {
      second = await this.#compute(work, { variant: 'v', urgent: true, eligible: (w) => !sameWorker(w, first.worker) }, agreed);
    } catch (error) {
      if (!(error instanceof UntakenTileError)) throw error;
      tally.givenUp();
      if (this.#options.dispatcher.isBanned(this.#options.run, first.worker)) return work.recompute();
      log.info({ strip, workerId: first.worker.workerId, waitMs: this.#options.waitMs }, 'no second worker to verify the strip with; it stays unverified');
      return work.stitch(first.checked.data, first.worker, false);
    }
    if (second.checked.digest === first.checked.digest) {
      tally.verified(first.worker.workerId);
      tally.verified(second.worker.workerId);
      return;
    }
    log.warn({ strip, workers: [first.worker.workerId, second.worker.workerId] }, 'two workers returned different results for a strip; a third decides');
    await this.#arbitrate(work, first, second);
  }

  async #arbitrate<T>(work: StripWork<T>, first: Answer<T>, second: Answer<T>): Promise<void> {
    const { tally, waitMs } = this.#options;
    const strip = work.offer.tileIndex;
    const names = `${first.worker.workerId} and ${second.worker.workerId}`;
    const decide = async (answer: Answer<T>): Promise<boolean> => {
      const majority = [first, second].find((other) => other.checked.digest === answer.checked.digest);
      if (!majority) return false;
      await work.stitch(answer.checked.data, majority.worker, true);
      return true;
    };
    let third: Answer<T>;
    try {
      third = await this.#compute(work, { variant: 'a', urgent: true, eligible: (w) => !sameWorker(w, first.worker) && !sameWorker(w, second.worker) }, decide);
    } catch (error) {
      if (!(error instanceof UntakenTileError)) throw error;
      throw new VerificationError(`workers ${names} returned different results for strip ${strip}, and no third worker took it within ${waitMs} ms (VERIFY_WAIT_MS) to decide`);
    }
    const majority = [first, second].find((other) => other.checked.digest === third.checked.digest);
    if (!majority) {
      throw new VerificationError(`workers ${names} and ${third.worker.workerId} returned three different results for strip ${strip}: no majority`);
    }
    const minority = majority === first ? second : first;
    tally.verified(majority.worker.workerId);
    tally.verified(third.worker.workerId);
    tally.minority(minority.worker.workerId);
    await this.#options.onBan(minority.worker, strip);
  }

  /**
   * Dispatches one computation of the strip; its result is checked, then `use` may stitch it
   * (inside the acceptance, so a failure to write is the master's own). Resolves with the answer.
   */
  async #compute<T>(work: StripWork<T>, extra: Pick<TileOffer, 'variant' | 'urgent' | 'eligible'>, use: (answer: Answer<T>) => Promise<unknown>): Promise<Answer<T>> {
    let answer: Answer<T> | undefined;
    // A replica or arbiter: its own task id (after the strip's own variant, a recomputation's), and a bounded wait.
    const again = extra.variant ? { variant: `${work.offer.variant ?? ''}${extra.variant}`, maxWaitMs: this.#options.waitMs } : {};
    await this.#options.dispatcher.dispatch({
      ...work.offer,
      ...extra,
      ...again,
      accept: async (result, worker) => {
        const candidate = { worker, checked: work.check(result) };
        await use(candidate);
        answer = candidate;
      },
    });
    if (!answer) throw new Error(`strip ${work.offer.tileIndex}: the dispatcher settled without a result`);
    return answer;
  }
}

/** The digest verification compares: every index's PNG bytes, statistics and preview samples, indices in name order (timings left out). */
export function resultDigest(result: SubmitResultRequest__Output): string {
  const hash = createHash('sha256');
  for (const tile of [...result.tiles].sort((a, b) => a.index.localeCompare(b.index))) {
    const stats = tile.stats ?? { validPixels: 0, min: 0, max: 0, sum: 0, maskedPixels: 0 };
    hash.update(`${tile.index}\u0000${tile.png.length}\u0000${stats.validPixels},${stats.min},${stats.max},${stats.sum},${stats.maskedPixels}\u0000`);
    hash.update(tile.png);
    hash.update(`\u0000${tile.preview.length}\u0000`);
    hash.update(tile.preview);
    hash.update(`\u0000${tile.cog.length}\u0000`);
    for (const piece of tile.cog) hash.update(`${piece.adler32}\u0000${piece.deflate.length}\u0000`).update(piece.deflate);
  }
  return hash.digest('hex');
}
