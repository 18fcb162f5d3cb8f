/**
 * The claim loop on the in-memory store: it needs no database, and the store's pending wake-up (on
 * insert and on release) makes it claim at once — the poll interval here is ten minutes, so only a
 * wake-up can get a request claimed within the test's timeout.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestClaimer, type RequestProcessor } from '../../master/request-claimer.js';
import { InMemoryRequestStore } from '../../master/store/in-memory-request-store.js';
import type { MosaicRequestRow, RequestStore } from '../../master/store/request-store.js';
import { createLogger } from '../../shared/logger.js';
import { claimOf } from '../../master/store/request-store.js';
import { claimBy } from '../support/request-store-contract.js';

const BANDS = { red: '/data/input/B04.tif', nir: 'samples/L7_ETMs.tif#4' };
const RESULT = { outputDir: '/out', outputs: {}, workerTiles: {}, timings: {}, tilesDone: 0 };

/** Counts bump()s; until(n) resolves once there have been n. */
function counter(): { bump(): void; until(n: number): Promise<void> } {
  let count = 0;
  let check: () => void = () => {};
  return {
    bump() {
      count += 1;
      check();
    },
    until: (n) =>
      new Promise((resolve) => {
        check = () => void (count >= n && resolve());
        check();
      }),
  };
}

test('an idle claimer is woken by an insert, and by another master releasing its request', { timeout: 10_000 }, async (t) => {
  const store = new InMemoryRequestStore();
  // Held by master-b (fresh heartbeat), so master-a's claimer finds nothing and idles.
  const held = await store.insert({ bands: BANDS, indices: ['ndvi'] });
  assert.equal((await store.claimNext('master-b', 60_000))?.id, held);

  // The store as the claimer sees it, telling the test when a claim found nothing (it idles next).
  const emptyClaims = counter();
  const watched = new Proxy<RequestStore>(store, {
    get(target, property) {
      if (property === 'claimNext') {
        return async (masterId: string, staleAfterMs: number) => {
          const row = await target.claimNext(masterId, staleAfterMs);
          if (!row) emptyClaims.bump();
          return row;
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  const claims: MosaicRequestRow[] = [];
  const processed = counter();
  const processor: RequestProcessor = {
    async process(row) {
      claims.push(row);
      assert.equal(await store.complete(claimOf(row), RESULT), true);
      processed.bump();
    },
  };
  const claimer = new RequestClaimer({
    store: watched,
    processor,
    masterId: 'master-a',
    pollIntervalMs: 600_000,
    requestStaleMs: 60_000,
    log: createLogger('test', 'silent'),
  });
  await claimer.start();
  t.after(() => claimer.stop()); // also after a timeout: its ten-minute poll must not keep the process up
  await emptyClaims.until(1);
  const inserted = await store.insert({ bands: BANDS, indices: ['ndvi'] });
  await processed.until(1);
  await emptyClaims.until(2);
  assert.equal(await store.release(claimBy(held, 'master-b')), true);
  await processed.until(2);
  assert.deepEqual(
    claims.map((row) => [row.id, row.attempts]),
    [
      [inserted, 1],
      [held, 2],
    ],
  );
});

/**
 * Each run has a signal of its own: on Node 20 every AbortSignal.any a run builds keeps an entry on
 * each source signal while that source lives, so runs built on the claimer's own (master-long)
 * signal made it gather a few entries per request, for good (found by the load benchmark's heap
 * snapshots: +3 WeakRefs per request).
 */
test('each request runs under its own signal: aborted by a forced stop while it runs, unlinked once it has ended', { timeout: 10_000 }, async () => {
  const store = new InMemoryRequestStore();
  const signals: AbortSignal[] = [];
  let secondRunning!: () => void;
  const running = new Promise<void>((resolve) => (secondRunning = resolve));
  const processor: RequestProcessor = {
    async process(row, signal) {
      signals.push(signal);
      if (signals.length === 1) {
        assert.equal(await store.complete(claimOf(row), RESULT), true);
        return;
      }
      secondRunning();
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      assert.equal(await store.release(claimOf(row)), true);
    },
  };
  const claimer = new RequestClaimer({ store, processor, masterId: 'master-a', pollIntervalMs: 600_000, requestStaleMs: 60_000, log: createLogger('test', 'silent') });
  await store.insert({ bands: BANDS, indices: ['ndvi'] });
  await store.insert({ bands: BANDS, indices: ['ndvi'] });
  await claimer.start();
  await running;
  await claimer.stop({ graceful: false, timeoutMs: 5_000 });
  const [first, second] = signals;
  assert.ok(first && second && first !== second, 'a signal per run');
  assert.equal(second.aborted, true, 'the run in hand is abandoned');
  assert.equal(first.aborted, false, 'the finished run\'s signal no longer follows the claimer');
});
