/**
 * Riding out a database outage, on node:test's fake timers: which errors are an outage, one call
 * retried through one (and given up on after its bound), and the run's outcome writes
 * (RequestOutcome) on the in-memory store with an outage injected in front of it.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { pino } from 'pino';
import { DatabaseOutageError, OUTAGE_POLICY, isTransientDatabaseError, retryThroughOutage, type OutageRetry } from '../../master/db/outage-retry.js';
import { RequestOutcome } from '../../master/request-outcome.js';
import { InMemoryRequestStore } from '../../master/store/in-memory-request-store.js';
import { claimOf, type RequestStore } from '../../master/store/request-store.js';
import type { Logger } from '../../shared/logger.js';

const BANDS = { red: '/data/input/B04.tif', nir: 'samples/L7_ETMs.tif#4' };
const RESULT = { outputDir: '/out/1', outputs: {}, workerTiles: { w: 1 }, timings: {}, tilesDone: 1 };
const RETRY: OutageRetry = { policy: OUTAGE_POLICY, maxElapsedMs: 60_000 };

const withCode = (message: string, code: string): Error => Object.assign(new Error(message), { code });
const refused = (): Error => withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED');
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function recordingLog(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { log: pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) }), lines };
}

/** Fake setTimeout and Date; run() drives a promise to its end through every timer it sets. */
function fakeTimers(t: TestContext): { run<T>(promise: Promise<T>): Promise<T> } {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  return {
    async run(promise) {
      let done = false;
      const settled = promise.finally(() => (done = true));
      settled.catch(() => undefined);
      for (let turns = 0; !done && turns < 10_000; turns++) {
        await settle();
        if (!done) t.mock.timers.tick(100);
      }
      return settled;
    },
  };
}

describe('isTransientDatabaseError', () => {
  it('takes socket errors, a server stopping, starting or overloaded, and broken connections as an outage', () => {
    for (const error of [
      refused(),
      withCode('read ECONNRESET', 'ECONNRESET'),
      withCode('getaddrinfo ENOTFOUND db', 'ENOTFOUND'),
      withCode('terminating connection due to administrator command', '57P01'),
      withCode('the database system is starting up', '57P03'),
      withCode('the database system is shutting down', '57P03'),
      withCode('connection failure', '08006'),
      withCode('sorry, too many clients already', '53300'),
      withCode('could not serialize access', '40001'),
      new AggregateError([refused(), refused()], 'connect failed'),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Client has encountered a connection error and is not queryable'),
    ]) {
      assert.equal(isTransientDatabaseError(error), true, `${(error as { code?: string }).code ?? ''} ${error.message}`);
    }
  });

  it('does not retry what the database answered for good, nor bugs, nor non-errors', () => {
    for (const error of [
      withCode('duplicate key value violates unique constraint', '23505'),
      withCode('relation "mosaic_requests" does not exist', '42P01'),
      withCode('invalid input syntax for type bigint', '22P02'),
      withCode('password authentication failed', '28P01'),
      withCode('terminating connection due to dropped database', '57P04'),
      new TypeError("Cannot read properties of undefined (reading 'rows')"),
      new AggregateError([new TypeError('x')]),
      'ECONNREFUSED',
      undefined,
    ]) {
      assert.equal(isTransientDatabaseError(error), false, String(error));
    }
  });
});

describe('retryThroughOutage', () => {
  it('retries an unreachable database until it answers, says so once at warn, and once when it is back', async (t) => {
    const clock = fakeTimers(t);
    const { log, lines } = recordingLog();
    let calls = 0;
    const answer = await clock.run(
      retryThroughOutage('recording the completion', async () => {
        calls += 1;
        if (calls <= 5) throw refused();
        return true;
      }, { retry: RETRY, log }),
    );
    assert.equal(answer, true);
    assert.equal(calls, 6);
    const retrying = lines.filter((line) => line['msg'] === 'database unreachable while recording the completion; retrying');
    assert.deepEqual(retrying.map((line) => [line['level'], line['failures']]), [[40, 1], [20, 2], [20, 3], [20, 4], [20, 5]]);
    const back = lines.find((line) => line['msg'] === 'database reachable again: done recording the completion');
    assert.equal(back?.['failures'], 5);
  });

  it('fails at once on an error that retrying cannot change', async (t) => {
    fakeTimers(t);
    const { log } = recordingLog();
    let calls = 0;
    const wrong = withCode('syntax error', '42601');
    await assert.rejects(
      retryThroughOutage('x', async () => {
        calls += 1;
        throw wrong;
      }, { retry: RETRY, log }),
      (error) => error === wrong,
    );
    assert.equal(calls, 1);
  });

  it('gives up with a DatabaseOutageError once the outage outlasts its bound', async (t) => {
    const clock = fakeTimers(t);
    const { log } = recordingLog();
    let calls = 0;
    const started = Date.now();
    const error = await clock
      .run(retryThroughOutage('recording the plan', async () => {
        calls += 1;
        throw refused();
      }, { retry: { policy: OUTAGE_POLICY, maxElapsedMs: 30_000 }, log }))
      .then(() => assert.fail('expected a rejection'), (e: unknown) => e);
    assert.ok(error instanceof DatabaseOutageError);
    assert.match(error.message, /^the database did not answer for \d+ s while recording the plan: connect ECONNREFUSED/);
    assert.ok(Date.now() - started <= 30_000, 'no wait past the bound');
    assert.ok(Date.now() - started >= 20_000, `kept trying for most of it (${Date.now() - started} ms)`);
    assert.ok(calls > 5);
  });

  it('stops waiting when the signal fires, with its reason', async (t) => {
    fakeTimers(t);
    const { log } = recordingLog();
    const controller = new AbortController();
    const reason = new Error('master stopping');
    const pending = retryThroughOutage('x', async () => {
      throw refused();
    }, { retry: RETRY, signal: controller.signal, log });
    await settle();
    controller.abort(reason);
    await assert.rejects(pending, (error) => error === reason);
  });
});

/** `store` whose complete/fail/release throw `error` while `down()` says so (after `commit`, when set: the answer lost). */
function outage(store: RequestStore, down: () => boolean, options: { commit?: boolean } = {}): RequestStore {
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => Promise<unknown>;
      if (!['complete', 'fail', 'release'].includes(String(property))) return method.bind(target);
      return async (...args: unknown[]) => {
        if (!down()) return method.apply(target, args);
        if (options.commit) await method.apply(target, args);
        throw withCode('read ECONNRESET', 'ECONNRESET');
      };
    },
  });
}

describe('RequestOutcome', () => {
  async function claimed(): Promise<{ store: InMemoryRequestStore; id: string; claim: ReturnType<typeof claimOf> }> {
    const store = new InMemoryRequestStore();
    const id = await store.insert({ bands: BANDS, indices: ['ndvi'] });
    const row = await store.claimNext('master-a', 60_000);
    assert.ok(row);
    return { store, id, claim: claimOf(row) };
  }

  it('records the completion once the database is back', async (t) => {
    const clock = fakeTimers(t);
    const { store, id, claim } = await claimed();
    let failures = 0;
    const outcome = new RequestOutcome({ store: outage(store, () => ++failures <= 4), claim, retry: RETRY, log: recordingLog().log });
    assert.equal(await clock.run(outcome.complete(RESULT, new AbortController().signal)), true);
    assert.equal(failures, 5);
    assert.equal((await store.get(id))?.status, 'completed');
  });

  it('knows its own write landed when the outage only lost the answer', async (t) => {
    const clock = fakeTimers(t);
    const { store, id, claim } = await claimed();
    let calls = 0;
    const { log, lines } = recordingLog();
    const outcome = new RequestOutcome({ store: outage(store, () => ++calls === 1, { commit: true }), claim, retry: RETRY, log });
    assert.equal(await clock.run(outcome.fail('bad band', new AbortController().signal)), true);
    assert.equal(calls, 2, 'the second try found the row no longer running');
    const row = await store.get(id);
    assert.equal(row?.status, 'failed');
    assert.equal(row?.error, 'bad band');
    assert.ok(lines.some((line) => /recorded by an earlier try whose answer was lost/.test(String(line['msg']))));
  });

  it('answers false, writing nothing, when another master holds the request now', async (t) => {
    const clock = fakeTimers(t);
    const { store, id, claim } = await claimed();
    assert.equal(await store.release(claim), true);
    const other = await store.claimNext('master-b', 60_000);
    assert.equal(other?.attempts, 2);
    let calls = 0;
    const outcome = new RequestOutcome({ store: outage(store, () => ++calls <= 2), claim, retry: RETRY, log: recordingLog().log });
    assert.equal(await clock.run(outcome.complete(RESULT, new AbortController().signal)), false);
    const row = await store.get(id);
    assert.equal(row?.status, 'running');
    assert.equal(row?.claimedBy, 'master-b');
  });

  it('releases within a short bound whatever the signal, then gives up', async (t) => {
    const clock = fakeTimers(t);
    const { store, id, claim } = await claimed();
    const outcome = new RequestOutcome({ store: outage(store, () => true), claim, retry: RETRY, log: recordingLog().log });
    const started = Date.now();
    await assert.rejects(clock.run(outcome.release()), DatabaseOutageError);
    assert.ok(Date.now() - started <= 10_000, `${Date.now() - started} ms`);
    assert.equal((await store.get(id))?.status, 'running', 'left for the stale-heartbeat takeover');
  });
});
