/**
 * shared/retry.ts on node:test's fake timers: every wait is a mocked setTimeout moved on with
 * tick(), so the tests see exactly when each try happens and never sleep.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { RetryPolicyError, backoffDelay, retry, retryPolicy, wait, type RetryEvent, type RetryPolicy } from '../../shared/retry.js';

const DOUBLING: RetryPolicy = retryPolicy({ initialMs: 100, maxMs: 1_000, factor: 2, jitter: 0, attempts: 'unlimited' });

/** Lets promise continuations run (setImmediate is not mocked: only setTimeout and Date are). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function fakeTimers(t: TestContext): { tick(ms: number): Promise<void> } {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  return {
    async tick(ms) {
      await settle(); // timers the last continuations set
      t.mock.timers.tick(ms);
      await settle();
    },
  };
}

/** A function failing `failures` times (with "fail 1", "fail 2", …), then resolving to 'done'; it records when it was called. */
function flaky(failures: number): { fn: (attempt: number) => Promise<string>; calls: number[]; attempts: number[] } {
  const calls: number[] = [];
  const attempts: number[] = [];
  return {
    calls,
    attempts,
    fn: async (attempt) => {
      calls.push(Date.now() - 1_000_000);
      attempts.push(attempt);
      if (calls.length <= failures) throw new Error(`fail ${calls.length}`);
      return 'done';
    },
  };
}

/** The promise's outcome so far, without waiting for it. */
function track<T>(promise: Promise<T>): { readonly state: 'pending' | 'resolved' | 'rejected'; readonly value: T | undefined; readonly error: unknown } {
  const tracked = { state: 'pending' as 'pending' | 'resolved' | 'rejected', value: undefined as T | undefined, error: undefined as unknown };
  promise.then(
    (value) => Object.assign(tracked, { state: 'resolved', value }),
    (error: unknown) => Object.assign(tracked, { state: 'rejected', error }),
  );
  return tracked;
}

describe('backoffDelay', () => {
  it('grows by the factor from initialMs and stops at maxMs', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(DOUBLING, n)), [100, 200, 400, 800, 1_000, 1_000]);
    const tripling = retryPolicy({ ...DOUBLING, factor: 3, maxMs: 10_000 });
    assert.deepEqual([1, 2, 3, 4].map((n) => backoffDelay(tripling, n)), [100, 300, 900, 2_700]);
    assert.equal(backoffDelay(retryPolicy({ ...DOUBLING, factor: 1 }), 9), 100, 'factor 1: a constant wait');
  });

  it('randomises the jitter share of the wait: 0.5 lies between half of it and all of it', () => {
    const half = retryPolicy({ ...DOUBLING, jitter: 0.5 });
    assert.equal(backoffDelay(half, 3, () => 0), 200);
    assert.equal(backoffDelay(half, 3, () => 0.5), 300);
    assert.equal(backoffDelay(half, 3, () => 0.999_999), 400);
    const full = retryPolicy({ ...DOUBLING, jitter: 1 });
    assert.equal(backoffDelay(full, 3, () => 0), 0);
    assert.equal(backoffDelay(full, 3, () => 0.25), 100);
  });

  it('stays finite however many failures there were, and is 0 for a zero policy', () => {
    assert.equal(backoffDelay(DOUBLING, 10_000), 1_000);
    assert.equal(backoffDelay(DOUBLING, Number.MAX_SAFE_INTEGER), 1_000);
    assert.equal(backoffDelay(retryPolicy({ initialMs: 0, maxMs: 0, factor: 2, jitter: 0.5, attempts: 3 }), 5_000), 0);
  });
});

describe('retryPolicy', () => {
  it('freezes a good policy and refuses malformed ones, saying which field', () => {
    const policy = retryPolicy({ initialMs: 1, maxMs: 1, factor: 1, jitter: 1, attempts: 1 });
    assert.ok(Object.isFrozen(policy));
    const bad: [Partial<RetryPolicy>, RegExp][] = [
      [{ initialMs: -1 }, /initialMs/],
      [{ initialMs: Number.NaN }, /initialMs/],
      [{ maxMs: 50 }, /maxMs/],
      [{ factor: 0.5 }, /factor/],
      [{ factor: Number.POSITIVE_INFINITY }, /factor/],
      [{ jitter: 1.5 }, /jitter/],
      [{ jitter: Number.NaN }, /jitter/],
      [{ attempts: 0 }, /attempts/],
      [{ attempts: 2.5 }, /attempts/],
    ];
    for (const [change, message] of bad) {
      assert.throws(() => retryPolicy({ ...DOUBLING, ...change }), (error: unknown) => error instanceof RetryPolicyError && message.test(error.message), JSON.stringify(change));
    }
  });
});

describe('retry', () => {
  it('tries again after each delay, only once the timer fires, and resolves to the value', async (t) => {
    const clock = fakeTimers(t);
    const { fn, calls, attempts } = flaky(3);
    const events: RetryEvent[] = [];
    const result = track(retry(fn, { policy: DOUBLING, onRetry: (event) => events.push(event) }));
    await settle();
    assert.deepEqual(calls, [0], 'the first try is immediate');
    await clock.tick(99);
    assert.deepEqual(calls, [0], 'not before the first delay is over');
    await clock.tick(1);
    assert.deepEqual(calls, [0, 100]);
    await clock.tick(200);
    assert.deepEqual(calls, [0, 100, 300]);
    await clock.tick(399);
    assert.equal(result.state, 'pending');
    await clock.tick(1);
    assert.deepEqual(calls, [0, 100, 300, 700]);
    assert.equal(result.state, 'resolved');
    assert.equal(result.value, 'done');
    assert.deepEqual(attempts, [1, 2, 3, 4]);
    assert.deepEqual(
      events.map(({ error, attempt, delayMs, elapsedMs }) => [(error as Error).message, attempt, delayMs, elapsedMs]),
      [
        ['fail 1', 1, 100, 0],
        ['fail 2', 2, 200, 100],
        ['fail 3', 3, 400, 300],
      ],
    );
  });

  it('gives up with the last error once the attempts are spent', async (t) => {
    const clock = fakeTimers(t);
    const { fn, calls } = flaky(10);
    const result = track(retry(fn, { policy: retryPolicy({ ...DOUBLING, attempts: 3 }) }));
    await clock.tick(100);
    await clock.tick(200);
    assert.deepEqual(calls, [0, 100, 300]);
    assert.equal(result.state, 'rejected');
    assert.equal((result.error as Error).message, 'fail 3');
    await clock.tick(10_000);
    assert.equal(calls.length, 3, 'no try after giving up');
  });

  it('does not retry what shouldRetry refuses, and tells it which try failed', async (t) => {
    fakeTimers(t);
    const seen: [string, number][] = [];
    const { fn, calls } = flaky(10);
    const result = track(
      retry(fn, {
        policy: DOUBLING,
        shouldRetry: (error, attempt) => {
          seen.push([(error as Error).message, attempt]);
          return false;
        },
      }),
    );
    await settle();
    assert.equal(result.state, 'rejected');
    assert.equal((result.error as Error).message, 'fail 1');
    assert.deepEqual(seen, [['fail 1', 1]]);
    assert.deepEqual(calls, [0]);
  });

  it('keeps going without limit, each wait capped at maxMs', async (t) => {
    const clock = fakeTimers(t);
    const { fn, calls } = flaky(50);
    const result = track(retry(fn, { policy: DOUBLING }));
    await settle();
    for (let failure = 1; failure <= 50; failure++) await clock.tick(backoffDelay(DOUBLING, failure));
    assert.equal(calls.length, 51);
    assert.equal(result.state, 'resolved');
    assert.equal(calls.at(-1)! - calls.at(-2)!, 1_000);
  });

  it('stops at once when aborted during a wait, with the signal\'s reason, and tries no more', async (t) => {
    const clock = fakeTimers(t);
    const controller = new AbortController();
    const { fn, calls } = flaky(10);
    const result = track(retry(fn, { policy: retryPolicy({ ...DOUBLING, initialMs: 60_000, maxMs: 60_000 }), signal: controller.signal }));
    await clock.tick(30_000);
    const reason = new Error('master stopping');
    controller.abort(reason);
    await settle();
    assert.equal(result.state, 'rejected');
    assert.equal(result.error, reason);
    await clock.tick(120_000);
    assert.deepEqual(calls, [0]);
  });

  it('rejects with the reason when the signal fires during a try, and never calls fn on an aborted signal', async (t) => {
    fakeTimers(t);
    const controller = new AbortController();
    const reason = new Error('stop');
    const during = track(
      retry(
        async () => {
          controller.abort(reason);
          throw new Error('the try failed because of the stop');
        },
        { policy: DOUBLING, signal: controller.signal },
      ),
    );
    await settle();
    assert.equal(during.error, reason);
    let called = false;
    const before = track(retry(async () => (called = true), { policy: DOUBLING, signal: controller.signal }));
    await settle();
    assert.equal(before.error, reason);
    assert.equal(called, false);
  });

  it('gives up rather than start a wait that would end past maxElapsedMs', async (t) => {
    const clock = fakeTimers(t);
    const { fn, calls } = flaky(10);
    const events: number[] = [];
    // Tries at 0, 100, 300, 700; the next wait (800) would end at 1500 > 1000.
    const result = track(retry(fn, { policy: DOUBLING, maxElapsedMs: 1_000, onRetry: ({ delayMs }) => events.push(delayMs) }));
    await clock.tick(100);
    await clock.tick(200);
    await clock.tick(400);
    assert.deepEqual(calls, [0, 100, 300, 700]);
    assert.equal(result.state, 'rejected');
    assert.equal((result.error as Error).message, 'fail 4');
    assert.deepEqual(events, [100, 200, 400]);
  });

  it('with delayFirst, waits the first delay before the first try too', async (t) => {
    const clock = fakeTimers(t);
    const { fn, calls } = flaky(1);
    const result = track(retry(fn, { policy: DOUBLING, delayFirst: true }));
    await settle();
    assert.deepEqual(calls, []);
    await clock.tick(100);
    assert.deepEqual(calls, [100]);
    await clock.tick(199);
    assert.deepEqual(calls, [100]);
    await clock.tick(1);
    assert.deepEqual(calls, [100, 300]);
    assert.equal(result.state, 'resolved');
  });

  it('waits with the given wait function, passing the signal', async () => {
    const waits: [number, AbortSignal | undefined][] = [];
    const { signal } = new AbortController();
    const { fn } = flaky(2);
    const value = await retry(fn, {
      policy: DOUBLING,
      signal,
      wait: async (ms, s) => void waits.push([ms, s]),
    });
    assert.equal(value, 'done');
    assert.deepEqual(waits, [
      [100, signal],
      [200, signal],
    ]);
  });

  it('draws the jitter from the given random source', async () => {
    const waits: number[] = [];
    const { fn } = flaky(2);
    await retry(fn, {
      policy: retryPolicy({ ...DOUBLING, jitter: 0.5 }),
      random: () => 0,
      wait: async (ms) => void waits.push(ms),
    });
    assert.deepEqual(waits, [50, 100]);
  });
});

describe('wait', () => {
  it('resolves when its timer fires and rejects with the reason when aborted', async (t) => {
    const clock = fakeTimers(t);
    const done = track(wait(500));
    await clock.tick(499);
    assert.equal(done.state, 'pending');
    await clock.tick(1);
    assert.equal(done.state, 'resolved');

    const controller = new AbortController();
    const aborted = track(wait(500, controller.signal));
    await clock.tick(100);
    controller.abort('why');
    await settle();
    assert.equal(aborted.state, 'rejected');
    assert.equal(aborted.error, 'why');
    assert.equal(track(wait(1, controller.signal)).state, 'pending', 'settles asynchronously');
    await settle();
    await assert.rejects(wait(1, controller.signal), (error) => error === 'why');
  });
});
