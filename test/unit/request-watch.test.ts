/**
 * watchRequest (cli/request-watch.ts) on the in-memory store: with `wake`, the row is read again as
 * soon as the caller hears the request changed, not after the interval, whether the change comes
 * while the watch waits or while it is reading the row.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { watchRequest } from '../../cli/request-watch.js';
import type { MosaicRequestRow } from '../../master/db/request-store.js';
import { InMemoryRequestStore } from '../../master/store/in-memory-request-store.js';
import { claimBy } from '../support/request-store-contract.js';

const BANDS = { red: '/data/input/B04.tif', nir: 'samples/L7_ETMs.tif#4' };
/** Four times the tests' timeout: a watch that waited for it fails the test (and its process exits soon after). */
const NEVER_MS = 20_000;

/** The in-memory store, with a hook run once a read of a row has its answer and before it is returned. */
class ObservedStore extends InMemoryRequestStore {
  #afterRead: (() => Promise<void>) | undefined;

  /** Runs `hook` after the next read (its answer already taken), before that read returns. */
  onceAfterRead(hook: () => Promise<void>): void {
    this.#afterRead = hook;
  }

  override async get(id: string): Promise<MosaicRequestRow | null> {
    const row = await super.get(id);
    const hook = this.#afterRead;
    this.#afterRead = undefined;
    await hook?.();
    return row;
  }
}

/** A request claimed by master 'm', and a wake-up source the test fires by hand. */
async function runningRequest(): Promise<{ store: ObservedStore; id: string; listeners: Set<() => void>; wake: (listener: () => void) => () => void }> {
  const store = new ObservedStore();
  const id = await store.insert({ bands: BANDS, indices: ['ndvi'] });
  assert.ok(await store.claimNext('m', 60_000));
  const listeners = new Set<() => void>();
  const wake = (listener: () => void): (() => void) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  };
  return { store, id, listeners, wake };
}

test('a change heard while the row is being read is not missed: the watch ends with the request', { timeout: 5_000 }, async () => {
  const { store, id, listeners, wake } = await runningRequest();
  // The first read answers "running"; before the watch sees that answer, the request fails and its
  // change is announced. A watch that subscribed only after reading would miss it and wait ten minutes.
  store.onceAfterRead(async () => {
    assert.ok(await store.fail(claimBy(id, 'm'), 'the sources could not be read'));
    for (const listener of [...listeners]) listener();
  });
  const row = await watchRequest(store, id, { progress: false, intervalMs: NEVER_MS, wake });
  assert.equal(row.status, 'failed');
  assert.equal(row.error, 'the sources could not be read');
  assert.equal(listeners.size, 0, 'the watch unsubscribed');
});

test('a change heard while the watch waits ends the wait at once', { timeout: 5_000 }, async () => {
  const { store, id, listeners, wake } = await runningRequest();
  let firstRead!: () => void;
  const read = new Promise<void>((resolve) => (firstRead = resolve));
  store.onceAfterRead(async () => firstRead());
  const watching = watchRequest(store, id, { progress: false, intervalMs: NEVER_MS, wake });
  await read;
  await new Promise((resolve) => setImmediate(resolve)); // a turn of the event loop: the watch has seen "running" and waits
  assert.ok(await store.fail(claimBy(id, 'm'), 'cancelled by the test'));
  for (const listener of [...listeners]) listener();
  assert.equal((await watching).status, 'failed');
  assert.equal(listeners.size, 0, 'the watch unsubscribed');
});
