/**
 * The in-memory RequestStore: the same contract as the PostgreSQL one (test/support/request-store-contract.ts),
 * on a clock the test moves; and what only it has: ids counted from 1, its default clock (driven here
 * by node:test's fake Date), listener errors reported instead of thrown.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InMemoryRequestStore } from '../../master/store/in-memory-request-store.js';
import { asJsonb } from '../../master/store/jsonb.js';
import { requestStoreContract } from '../support/request-store-contract.js';

const BANDS = { red: '/data/input/B04.tif', nir: 'samples/L7_ETMs.tif#4' };

requestStoreContract('InMemoryRequestStore', async () => {
  let clock = Date.parse('2026-12-01T09:00:00Z');
  const store = new InMemoryRequestStore({ now: () => clock });
  return {
    store,
    now: () => clock,
    passTime: async (ms) => {
      clock += ms;
    },
  };
});

test('ids count from 1, as a bigserial does', async () => {
  const store = new InMemoryRequestStore();
  const ids = [];
  for (let i = 0; i < 3; i += 1) ids.push(await store.insert({ bands: BANDS, indices: ['ndvi'] }));
  assert.deepEqual(ids, ['1', '2', '3']);
});

test('without a clock of its own it follows Date, so fake timers drive its timestamps and staleness', async (t) => {
  const start = Date.parse('2026-12-01T00:00:00Z');
  t.mock.timers.enable({ apis: ['Date'], now: start });
  const store = new InMemoryRequestStore();
  const id = await store.insert({ bands: BANDS, indices: ['ndvi'] });
  assert.equal((await store.get(id))?.createdAt.getTime(), start);
  await store.claimNext('master-a', 60_000);
  t.mock.timers.tick(60_000);
  assert.equal(await store.claimNext('master-b', 60_000), null, 'exactly 60 s: not yet stale');
  t.mock.timers.tick(1);
  const reclaimed = await store.claimNext('master-b', 60_000);
  assert.equal(reclaimed?.id, id);
  assert.equal(reclaimed?.heartbeatAt?.getTime(), start + 60_001);
});

test('a listener that throws is reported; the operation and the other listeners are unaffected', async () => {
  const errors: Error[] = [];
  const store = new InMemoryRequestStore({ onError: (error) => errors.push(error) });
  await store.onPending(() => {
    throw new Error('listener broke');
  });
  const heard = new Promise<string>((resolve) => void store.onPending(resolve));
  const id = await store.insert({ bands: BANDS, indices: ['ndvi'] });
  assert.equal(await heard, id);
  assert.deepEqual(
    errors.map((e) => e.message),
    ['listener broke'],
  );
  assert.equal((await store.get(id))?.status, 'pending');
});

test('the same listener subscribed twice is called twice and unsubscribed once per subscription', async () => {
  const store = new InMemoryRequestStore();
  const heard: string[] = [];
  const listener = (id: string): void => void heard.push(id);
  const first = await store.onPending(listener);
  await store.onPending(listener);
  const a = await store.insert({ bands: BANDS, indices: ['ndvi'] });
  await first();
  const b = await store.insert({ bands: BANDS, indices: ['ndvi'] });
  await new Promise<void>((resolve) => queueMicrotask(resolve)); // deliveries are queued as microtasks
  assert.deepEqual(heard, [a, a, b]);
});

test('asJsonb: JSON values, keys shorter first then by UTF-8 bytes, integer-like keys first as in any JS object', () => {
  assert.equal(asJsonb(undefined), null);
  assert.deepEqual(asJsonb({ a: undefined, b: Number.NaN, c: new Date(0) }), { b: null, c: '1970-01-01T00:00:00.000Z' });
  assert.deepEqual(Object.keys(asJsonb({ bb: 1, a: 2, ab: 3, é: 4, z: 5 }) as object), ['a', 'z', 'ab', 'bb', 'é']);
  assert.deepEqual(Object.keys(asJsonb({ ab: 1, 10: 2, 9: 3 }) as object), ['9', '10', 'ab']);
  const nested = { outer: { zz: [{ b: 1, a: 2 }] } };
  const copy = asJsonb(nested) as typeof nested;
  assert.deepEqual(Object.keys(copy.outer.zz[0]!), ['a', 'b']);
  assert.notEqual(copy.outer, nested.outer);
});
