/**
 * WakeUp (shared/wake-up.ts), the wait the request claimer and `tessera run`'s watch share: a
 * wake-up ends a wait under way, one that comes between waits is kept until clear(), and an
 * aborted signal ends the wait.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WakeUp } from '../../shared/wake-up.js';

/** Far longer than the tests' timeout: a wait that ran it out would fail the test. */
const LONG_MS = 20_000;

test('a wake-up ends the wait under way', { timeout: 5_000 }, async () => {
  const wakeUp = new WakeUp();
  const waiting = wakeUp.wait(LONG_MS);
  wakeUp.wake();
  await waiting;
});

test('a wake-up between waits is kept for the next one, until clear()', { timeout: 5_000 }, async () => {
  const wakeUp = new WakeUp();
  wakeUp.wake();
  await wakeUp.wait(LONG_MS); // at once: woken before it began
  await wakeUp.wait(LONG_MS); // still at once: nothing cleared it
  wakeUp.clear();
  let ended = false;
  const waiting = wakeUp.wait(LONG_MS).then(() => (ended = true));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(ended, false, 'after clear() the wait waits');
  wakeUp.wake();
  await waiting;
});

test('an aborted signal ends the wait, and one aborted before returns at once', { timeout: 5_000 }, async () => {
  const wakeUp = new WakeUp();
  const stop = new AbortController();
  const waiting = wakeUp.wait(LONG_MS, stop.signal);
  stop.abort();
  await waiting;
  await wakeUp.wait(LONG_MS, stop.signal);
});
