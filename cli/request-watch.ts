/**
 * Follows one request until it is completed, failed or cancelled, drawing a progress bar (tiles done / total)
 * on stderr when asked. Polls the row: it works the same on the central and the embedded database.
 * A caller that hears of the request's changes (`tessera run`, beside its own master) passes `wake`:
 * the row is then read again as soon as something happened, and the interval is only a fallback.
 * While the database is unreachable it says so once on stderr and keeps asking (backing off to 5 s),
 * until the database is back or the signal fires.
 */
import type { SingleBar } from 'cli-progress';
import type { MosaicRequestRow, RequestStore } from '../master/db/request-store.js';
import { OUTAGE_POLICY, isTransientDatabaseError } from '../master/db/outage-retry.js';
import { describeError } from '../shared/errors.js';
import { retry } from '../shared/retry.js';
import { WakeUp } from '../shared/wake-up.js';

export interface WatchOptions {
  readonly progress: boolean;
  /** Between two reads of the row (default 250 ms). */
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
  /** Subscribes `listener` to the request's changes (a read follows at once); returns the unsubscribe. */
  readonly wake?: (listener: () => void) => () => void;
}

export async function watchRequest(store: RequestStore, id: string, options: WatchOptions): Promise<MosaicRequestRow> {
  const bar = options.progress ? await progressBar(id) : undefined;
  // Subscribed before the first read: a change while the row is being read is not missed.
  const wakeUp = new WakeUp();
  const unsubscribe = options.wake?.(() => wakeUp.wake());
  let started = false;
  try {
    for (;;) {
      options.signal?.throwIfAborted();
      wakeUp.clear();
      const row = await getThroughOutage(store, id, options.signal);
      if (!row) throw new Error(`request ${id} does not exist`);
      if (bar) {
        const total = row.tilesTotal ?? 0;
        if (!started) bar.start(Math.max(total, 1), row.tilesDone, { status: row.status });
        started = true;
        bar.setTotal(Math.max(total, 1));
        bar.update(row.tilesDone, { status: row.status });
      }
      if (row.status === 'completed' || row.status === 'failed' || row.status === 'cancelled') return row;
      await wakeUp.wait(options.intervalMs ?? 250, options.signal); // stopped: the loop throws
    }
  } finally {
    unsubscribe?.();
    bar?.stop();
  }
}

/** The row, asked again while the database is unreachable (said once when it goes, once when it is back). */
async function getThroughOutage(store: RequestStore, id: string, signal: AbortSignal | undefined): Promise<MosaicRequestRow | null> {
  let failures = 0;
  const row = await retry(() => store.get(id), {
    policy: OUTAGE_POLICY,
    signal,
    shouldRetry: isTransientDatabaseError,
    onRetry: ({ error, attempt }) => {
      failures = attempt;
      if (attempt === 1) process.stderr.write(`\ndatabase unreachable (${describeError(error)}); still following request ${id}\n`);
    },
  });
  if (failures > 0) process.stderr.write(`database reachable again (after ${failures} failed reads)\n`);
  return row;
}

/** The bar on stderr; cli-progress is loaded only then (~20 ms of start-up that `--json` runs do not need). */
async function progressBar(id: string): Promise<SingleBar> {
  const { SingleBar: Bar, Presets } = await import('cli-progress');
  return new Bar({ format: `request ${id} [{bar}] {value}/{total} tiles | {status}`, stream: process.stderr, hideCursor: true }, Presets.shades_classic);
}
