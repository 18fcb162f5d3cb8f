/**
 * Retention (RETENTION_DAYS), as pg-boss's archive/purge: every interval, the master deletes the
 * completed and failed requests that finished more than `retentionDays` ago, a small batch per
 * statement (so no long lock and no huge transaction), and removes their output folders inside
 * OUTPUT_DIR. Several masters may run it at once: each row, and so each folder, is purged by one.
 * A failed run is logged and tried again at the next interval; it never stops the master.
 */
import { describeError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { PurgedRequest } from '../db/request-purge.js';
import { removeOutputFolder } from './output-folder-removal.js';

/** Where finished requests are deleted from (PostgresRequestPurge). */
export interface FinishedRequestPurge {
  purgeFinished(olderThanDays: number, limit: number): Promise<PurgedRequest[]>;
}

export const RETENTION_INTERVAL_MS = 60 * 60 * 1000;

export interface RetentionTaskOptions {
  readonly purge: FinishedRequestPurge;
  /** Age in days past which a finished request goes (> 0). */
  readonly retentionDays: number;
  /** OUTPUT_DIR: folders outside it are never removed. */
  readonly outputDir: string;
  readonly intervalMs?: number;
  /** Rows per DELETE (default 100). */
  readonly batchSize?: number;
  /** Batches per run at most (default 100), so one run cannot go on forever. */
  readonly maxBatches?: number;
  readonly log: Logger;
}

/** What one run did. */
export interface RetentionRun {
  readonly requests: number;
  readonly foldersRemoved: number;
  readonly foldersRefused: number;
}

export class RetentionTask {
  readonly #options: RetentionTaskOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;
  #stopped = false;

  constructor(options: RetentionTaskOptions) {
    if (!(options.retentionDays > 0)) throw new RangeError(`retentionDays must be positive, got ${options.retentionDays}`);
    this.#options = options;
  }

  /** Runs now (once the caller's turn is over), then every interval after each run ends. */
  start(): void {
    this.#schedule(0);
  }

  /** No further runs; resolves once a run in progress has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  /** One purge: batches until one comes back short (or maxBatches); throws when the database fails. */
  async runOnce(): Promise<RetentionRun> {
    const { purge, retentionDays, outputDir, log } = this.#options;
    const batchSize = this.#options.batchSize ?? 100;
    const maxBatches = this.#options.maxBatches ?? 100;
    let requests = 0;
    let foldersRemoved = 0;
    let foldersRefused = 0;
    for (let batch = 0; batch < maxBatches && !this.#stopped; batch++) {
      const purged = await purge.purgeFinished(retentionDays, batchSize);
      requests += purged.length;
      for (const { id, outputDir: folder } of purged) {
        if (folder === null) continue;
        try {
          const removal = await removeOutputFolder(folder, outputDir);
          if (removal.outcome === 'removed') foldersRemoved += 1;
          if (removal.outcome === 'refused') {
            foldersRefused += 1;
            log.warn({ requestId: id, folder, reason: removal.reason }, 'retention: output folder of a purged request left in place');
          }
        } catch (error) {
          log.warn({ requestId: id, folder, error: describeError(error) }, 'retention: could not remove an output folder');
        }
      }
      if (purged.length < batchSize) break;
    }
    if (requests > 0) log.info({ requests, foldersRemoved, foldersRefused, retentionDays }, 'retention: finished requests purged');
    return { requests, foldersRemoved, foldersRefused };
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      const run = this.runOnce().catch((error: unknown) => {
        this.#options.log.warn({ error: describeError(error) }, 'retention run failed; trying again at the next interval');
      });
      this.#running = run.finally(() => this.#schedule(this.#options.intervalMs ?? RETENTION_INTERVAL_MS));
    }, delayMs);
    this.#timer.unref();
  }
}
