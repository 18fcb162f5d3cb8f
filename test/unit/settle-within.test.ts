import assert from 'node:assert/strict';
import { test } from 'node:test';
import { settleWithin } from '../../shared/settle-within.js';

const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

test('returns the value when the promise settles in time, and leaves no timer behind', async () => {
  const before = timers();
  assert.deepEqual(await settleWithin(Promise.resolve(42), 60_000), { settled: true, value: 42 });
  assert.equal(timers(), before, 'a 60 s timer left running would keep the process alive');
});

test('reports a timeout when the promise is slower', async () => {
  const started = Date.now();
  assert.deepEqual(await settleWithin(new Promise(() => undefined), 50), { settled: false });
  assert.ok(Date.now() - started < 1_000);
});

test('passes a rejection through', async () => {
  await assert.rejects(settleWithin(Promise.reject(new Error('boom')), 1_000), /boom/);
});
