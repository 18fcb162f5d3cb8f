/**
 * watchRequest (cli/request-watch.ts) on the in-memory store: with `wake`, the row is read again as
 * soon as the caller hears the request changed, not after the interval.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { watchRequest } from '../../cli/request-watch.js';
import { InMemoryRequestStore } from '../../master/store/in-memory-request-store.js';
import { claimBy } from '../support/request-store-contract.js';

const BANDS = { red: '/data/input/B04.tif', nir: 'samples/L7_ETMs.tif#4' };
/** Far longer than the test's timeout: a watch that waited for it would fail the test. */
const NEVER_MS = 600_000;

test('a wake-up reads the row at once: the watch ends with the request, not an interval later', { timeout: 5_000 }, async () => {
  const store = new InMemoryRequestStore();
  const id = await store.insert({ bands: BANDS, indices: ['ndvi'] });
  assert.ok(await store.claimNext('m', 60_000));
  const listeners = new Set<() => void>();
  let subscribed!: () => void;
  const firstWait = new Promise<void>((resolve) => (subscribed = resolve));
  const watching = watchRequest(store, id, {
    progress: false,
    intervalMs: NEVER_MS,
    wake: (listener) => {
      listeners.add(listener);
      subscribed();
      return () => listeners.delete(listener);
    },
  });

  await firstWait; // the row was read (running) and the watch waits
  assert.ok(await store.fail(claimBy(id, 'm'), 'the sources could not be read'));
  for (const listener of [...listeners]) listener();
  const row = await watching;
  assert.equal(row.status, 'failed');
  assert.equal(row.error, 'the sources could not be read');
  assert.equal(listeners.size, 0, 'the watch unsubscribed');
});
