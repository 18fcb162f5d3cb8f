/** Polls a request row until it is completed, failed or cancelled. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { MosaicRequestRow } from '../../master/db/request-store.js';

export interface RowSource {
  get(id: string): Promise<MosaicRequestRow | null>;
}

export async function waitFinished(store: RowSource, id: string, timeoutMs = 120_000): Promise<MosaicRequestRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await store.get(id);
    if (row && (row.status === 'completed' || row.status === 'failed' || row.status === 'cancelled')) return row;
    if (Date.now() > deadline) throw new Error(`request ${id} still ${row?.status ?? 'missing'} after ${timeoutMs} ms`);
    await sleep(50);
  }
}
