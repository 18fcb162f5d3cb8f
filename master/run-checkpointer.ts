/**
 * Saves a run's checkpoint (resume-checkpoint.ts) as strips are written: at most every `everyMs`,
 * one save at a time, and once more `everyMs` after a burst (so the last strips before a quiet
 * spell are covered too); never failing the run (a checkpoint that could not be saved only means a
 * takeover would redo more).
 */
import { describeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { removeCheckpoint, saveCheckpoint } from './output/resume-checkpoint.js';
import type { StripMosaicWriter } from './output/strip-mosaic-writer.js';
import type { RunTally } from './run-tally.js';

export interface RunCheckpointerOptions {
  readonly writer: Pick<StripMosaicWriter, 'checkpoint' | 'stagingFolder' | 'dropStrips'>;
  readonly tally: RunTally;
  readonly fingerprint: string;
  readonly everyMs: number;
  readonly log: Logger;
  readonly now?: () => number;
}

export class RunCheckpointer {
  readonly #options: RunCheckpointerOptions;
  readonly #now: () => number;
  #lastAt = Number.NEGATIVE_INFINITY;
  #saving: Promise<void> | undefined;
  #trailing: NodeJS.Timeout | undefined;
  #closed = false;
  /** Strips are being taken back out of the files: no save meanwhile. */
  #dropping = false;
  #saved = 0;

  constructor(options: RunCheckpointerOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Strips the last saved checkpoint covers. */
  get savedStrips(): number {
    return this.#saved;
  }

  /** A strip was written: save a checkpoint unless one was saved (or is being saved) recently. */
  poke(): void {
    if (this.#closed) return;
    const wait = this.#lastAt + this.#options.everyMs - this.#now();
    if (this.#saving || this.#dropping || wait > 0) {
      this.#trailing ??= setTimeout(() => {
        this.#trailing = undefined;
        this.poke();
      }, Math.max(wait, 1));
      return;
    }
    this.#lastAt = this.#now();
    this.#saving = this.#save().finally(() => {
      this.#saving = undefined;
    });
  }

  /**
   * Takes strips back out of the mosaic (writer.dropStrips) so that no checkpoint covers the bytes
   * cut off: saves wait, and a saved checkpoint beyond the first of them is removed before the files
   * are cut (a takeover then starts over rather than resume from bytes no longer there).
   */
  async dropStrips(strips: readonly number[]): Promise<void> {
    if (strips.length === 0) return;
    this.#dropping = true;
    try {
      await this.#saving;
      if (this.#saved > Math.min(...strips)) {
        await removeCheckpoint(this.#options.writer.stagingFolder);
        this.#saved = 0;
      }
      await this.#options.writer.dropStrips(strips);
    } finally {
      this.#dropping = false;
    }
    this.poke();
  }

  /** No more saves (the run is finishing or ending); resolves once none is in progress. */
  async settle(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#trailing);
    this.#trailing = undefined;
    await this.#saving;
  }

  /**
   * No more saves, and the saved checkpoint is removed: the run is about to publish its folder,
   * which holds the outputs, not a resume point.
   */
  async discard(): Promise<void> {
    await this.settle();
    await removeCheckpoint(this.#options.writer.stagingFolder);
    this.#saved = 0;
  }

  /** Saves a checkpoint of everything written so far, then no more (the master is stopping). */
  async flush(): Promise<void> {
    await this.settle();
    await this.#save();
  }

  async #save(): Promise<void> {
    const { writer, tally, fingerprint, log } = this.#options;
    try {
      const at = await writer.checkpoint();
      if (!at) return;
      await saveCheckpoint(writer.stagingFolder, { version: 1, fingerprint, writer: at, strips: tally.records(at.strips) });
      this.#saved = at.strips;
      log.debug({ strips: at.strips }, 'checkpoint saved');
    } catch (error) {
      log.warn({ error: describeError(error) }, 'could not save a checkpoint; a takeover would redo more strips');
    }
  }
}
