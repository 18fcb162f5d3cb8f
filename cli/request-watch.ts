/**
 * Follows one request until it is completed or failed, drawing a progress bar (tiles done / total)
 * on stderr when asked. Polls the row: it works the same on the central and the embedded database.
 */
import { SingleBar, Presets } from 'cli-progress';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MosaicRequestRow, RequestStore } from '../master/db/request-store.js';

export interface WatchOptions {
  readonly progress: boolean;
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
}

export async function watchRequest(store: RequestStore, id: string, options: WatchOptions): Promise<MosaicRequestRow> {
  const bar = options.progress
    ? new SingleBar(
        { format: `request ${id} [{bar}] {value}/{total} tiles | {status}`, stream: process.stderr, hideCursor: true },
        Presets.shades_classic,
      )
    : undefined;
  let started = false;
  try {
    for (;;) {
      options.signal?.throwIfAborted();
      const row = await store.get(id);
      if (!row) throw new Error(`request ${id} does not exist`);
      if (bar) {
        const total = row.tilesTotal ?? 0;
        if (!started) bar.start(Math.max(total, 1), row.tilesDone, { status: row.status });
        started = true;
        bar.setTotal(Math.max(total, 1));
        bar.update(row.tilesDone, { status: row.status });
      }
      if (row.status === 'completed' || row.status === 'failed') return row;
      await sleep(options.intervalMs ?? 250);
    }
  } finally {
    bar?.stop();
  }
}
