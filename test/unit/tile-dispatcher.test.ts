import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { LeaseLostError, RejectedResultError, TileDispatcher, type TileOffer } from '../../master/dispatch/tile-dispatcher.js';
import { TileFailedError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import type { SourceChunk, SubmitResultRequest__Output, TileTask } from '../../shared/proto/tile-service.js';

const log = createLogger('test', 'silent');

/** A dispatcher whose lease and long-poll timers run on node:test's fake clock. */
function dispatcher(t: TestContext, leaseMs = 1_000, maxAttempts = 3): TileDispatcher {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const d = new TileDispatcher({ leaseMs, maxAttempts, log });
  t.after(() => d.close());
  return d;
}

const CHUNK: SourceChunk = { source: 0, part: 0, data: Buffer.from('block'), checksum: 0, last: true };

function offer(tileIndex: number, accept: TileOffer['accept'] = async () => undefined, sources: TileOffer['sources'] = chunks([CHUNK])): TileOffer {
  return { requestId: 'r1', claim: 1, tileIndex, task: { width: 4, height: 4, indices: ['ndvi'] }, sources, accept };
}

function chunks(list: readonly SourceChunk[]): TileOffer['sources'] {
  return async function* () {
    yield* list;
  };
}

function result(task: TileTask, workerId: string, extra: Partial<SubmitResultRequest__Output> = {}): SubmitResultRequest__Output {
  return { workerId, taskId: String(task.taskId), attempt: Number(task.attempt), tiles: [], timings: null, error: '', ...extra };
}

async function poll(d: TileDispatcher, workerId: string, holdMs = 500, signal = new AbortController().signal): Promise<TileTask> {
  const task = await d.nextTask(workerId, holdMs, signal);
  assert.ok(task, `${workerId} expected a task`);
  return task;
}

async function collect(iterable: AsyncIterable<SourceChunk>): Promise<SourceChunk[]> {
  const all: SourceChunk[] = [];
  for await (const chunk of iterable) all.push(chunk);
  return all;
}

const claimOf = (task: TileTask, workerId: string) => ({ workerId, taskId: String(task.taskId), attempt: Number(task.attempt) });

describe('TileDispatcher', () => {
  test('a waiting long poll receives a tile as soon as it is offered', async (t) => {
    const d = dispatcher(t);
    const waiting = d.nextTask('w1', 5_000, new AbortController().signal);
    assert.deepEqual(d.counts(), { ready: 0, leased: 0, waitingWorkers: 1 });
    const outcome = d.dispatch(offer(0));
    const task = await waiting;
    assert.ok(task);
    assert.equal(task.taskId, 'r1/1/0', 'request, claim, tile');
    assert.equal(task.attempt, 1);
    assert.deepEqual(await d.submit(result(task, 'w1')), { accepted: true, reason: '' });
    assert.deepEqual(await outcome, { workerId: 'w1', attempt: 1 });
  });

  test('a poll with nothing to do ends with null after the hold time', async (t) => {
    const d = dispatcher(t);
    const waiting = d.nextTask('w1', 50, new AbortController().signal);
    t.mock.timers.tick(49);
    assert.equal(d.counts().waitingWorkers, 1);
    t.mock.timers.tick(1);
    assert.equal(await waiting, null);
    assert.equal(d.counts().waitingWorkers, 0);
  });

  test('a cancelled poll is never handed a tile; the next poll gets it', async (t) => {
    const d = dispatcher(t);
    const cancelled = new AbortController();
    const first = d.nextTask('gone', 5_000, cancelled.signal);
    cancelled.abort();
    assert.equal(await first, null);
    const outcome = d.dispatch(offer(0));
    assert.deepEqual(d.counts(), { ready: 1, leased: 0, waitingWorkers: 0 });
    const task = await poll(d, 'w2');
    await d.submit(result(task, 'w2'));
    assert.equal((await outcome).workerId, 'w2');
  });

  test('an expired lease hands the tile out again with the next attempt number; the late duplicate changes nothing', async (t) => {
    const d = dispatcher(t, 40);
    const outcome = d.dispatch(offer(0));
    const first = await poll(d, 'slow');
    t.mock.timers.tick(40);
    const second = await poll(d, 'fast', 1_000);
    assert.equal(first.attempt, 1);
    assert.equal(second.attempt, 2);
    await d.submit(result(second, 'fast'));
    assert.deepEqual(await outcome, { workerId: 'fast', attempt: 2 });
    const late = await d.submit(result(first, 'slow'));
    assert.equal(late.accepted, false);
    assert.match(late.reason, /late duplicate/);
  });

  test('the first valid result wins even when it is from an earlier attempt', async (t) => {
    const d = dispatcher(t, 40);
    const accepted: string[] = [];
    const outcome = d.dispatch(offer(0, async (r) => void accepted.push(r.workerId)));
    const first = await poll(d, 'a');
    t.mock.timers.tick(40);
    const second = await poll(d, 'b', 1_000);
    assert.equal((await d.submit(result(first, 'a'))).accepted, true);
    assert.equal((await d.submit(result(second, 'b'))).accepted, false);
    assert.deepEqual(accepted, ['a']);
    assert.equal((await outcome).workerId, 'a');
  });

  test('a rejected result puts the tile back; after maxAttempts the tile fails with the reason', async (t) => {
    const d = dispatcher(t, 10_000, 2);
    const outcome = d.dispatch(
      offer(0, async () => {
        throw new RejectedResultError('strip is a 5×5 PNG, expected 4×4');
      }),
    );
    const t1 = await poll(d, 'w1');
    assert.deepEqual(await d.submit(result(t1, 'w1')), { accepted: false, reason: 'strip is a 5×5 PNG, expected 4×4' });
    const t2 = await poll(d, 'w2');
    assert.equal(t2.attempt, 2);
    await d.submit(result(t2, 'w2'));
    await assert.rejects(outcome, (error: unknown) => error instanceof TileFailedError && /after 2 attempts.*invalid result from w2.*5×5/.test(error.message));
    assert.deepEqual(d.counts(), { ready: 0, leased: 0, waitingWorkers: 0 });
  });

  test('a master-side failure while accepting fails the tile at once and does not blame the worker', async (t) => {
    const d = dispatcher(t, 10_000, 5);
    const diskFull = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const outcome = d.dispatch(
      offer(0, async () => {
        throw diskFull;
      }),
    );
    const task = await poll(d, 'w1');
    const verdict = await d.submit(result(task, 'w1'));
    assert.equal(verdict.accepted, false);
    assert.match(verdict.reason, /master could not store the result: ENOSPC/);
    await assert.rejects(outcome, (error: unknown) => error === diskFull);
    const again = d.nextTask('w2', 10, new AbortController().signal);
    t.mock.timers.tick(10);
    assert.equal(await again, null, 'not handed out again');
  });

  test('a worker-reported error re-issues the tile at once', async (t) => {
    const d = dispatcher(t, 10_000, 3);
    const outcome = d.dispatch(offer(0));
    const t1 = await poll(d, 'w1');
    await d.submit(result(t1, 'w1', { error: 'decoder blew up' }));
    const t2 = await poll(d, 'w2', 50);
    assert.equal(t2.attempt, 2);
    await d.submit(result(t2, 'w2'));
    assert.equal((await outcome).workerId, 'w2');
  });

  test('a worker that disconnects gives its tiles back at once, only those it holds on that connection', async (t) => {
    const d = dispatcher(t, 60_000, 3);
    const outcomes = [0, 1, 2].map((i) => d.dispatch(offer(i)));
    const a0 = await d.nextTask('w1', 500, new AbortController().signal, 'peer-a');
    const a1 = await d.nextTask('w1', 500, new AbortController().signal, 'peer-a');
    const b2 = await d.nextTask('w1', 500, new AbortController().signal, 'peer-b'); // same id, another connection
    assert.ok(a0 && a1 && b2);
    assert.equal(d.releaseWorker('w1', 'peer-x'), 0, 'no tiles on a connection it never used');
    assert.equal(d.releaseWorker('w1', 'peer-a'), 2);
    assert.deepEqual(d.counts(), { ready: 2, leased: 1, waitingWorkers: 0 }, 'no lease timer had to fire');
    const again = [await poll(d, 'w2'), await poll(d, 'w2')];
    assert.deepEqual(new Set(again.map((task) => task.taskId)), new Set([a0.taskId, a1.taskId]));
    assert.ok(again.every((task) => task.attempt === 2), 'a disconnect counts as a failed attempt');
    for (const task of again) await d.submit(result(task, 'w2'));
    await d.submit(result(b2, 'w1'), 'peer-b');
    assert.deepEqual((await Promise.all(outcomes)).map((o) => o.workerId), ['w2', 'w2', 'w1']);
  });

  test('results and error reports count only from the worker that was handed that attempt', async (t) => {
    const d = dispatcher(t, 10_000, 3);
    const accepted: string[] = [];
    const outcome = d.dispatch(offer(0, async (r) => void accepted.push(r.workerId)));
    const task = await poll(d, 'w1');
    for (const forged of [result(task, 'FAKE-WORKER-ID'), result(task, 'w1', { attempt: 0 }), result(task, 'w1', { attempt: 2 }), result(task, 'FAKE', { error: 'x' })]) {
      const verdict = await d.submit(forged);
      assert.equal(verdict.accepted, false, JSON.stringify(forged));
      assert.match(verdict.reason, /was not handed attempt/);
    }
    assert.deepEqual(d.counts(), { ready: 0, leased: 1, waitingWorkers: 0 }, 'the forged error did not re-queue the tile');
    await d.submit(result(task, 'w1'));
    assert.equal((await outcome).workerId, 'w1');
    assert.deepEqual(accepted, ['w1']);
  });

  test('only the holder of the current lease may read the source data', async (t) => {
    const d = dispatcher(t, 40, 3);
    const outcome = d.dispatch(offer(0));
    const first = await poll(d, 'w1');
    assert.throws(() => d.openSources(claimOf(first, 'intruder'), new AbortController().signal), LeaseLostError);
    assert.deepEqual(await collect(d.openSources(claimOf(first, 'w1'), new AbortController().signal)), [CHUNK]);
    t.mock.timers.tick(40); // w1's lease expires; the tile goes to w2
    const second = await poll(d, 'w2');
    assert.throws(() => d.openSources(claimOf(first, 'w1'), new AbortController().signal), /does not hold attempt 1/);
    assert.equal((await collect(d.openSources(claimOf(second, 'w2'), new AbortController().signal))).length, 1);
    await d.submit(result(second, 'w2'));
    await outcome;
    assert.throws(() => d.openSources(claimOf(second, 'w2'), new AbortController().signal), LeaseLostError, 'done tiles have no data');
  });

  test('a source read that fails (the input, not the worker) fails the tile with that error', async (t) => {
    const d = dispatcher(t, 10_000, 5);
    const unreadable = new Error('red: block (3, 0) is truncated');
    const outcome = d.dispatch(
      offer(0, async () => undefined, async function* () {
        yield CHUNK;
        throw unreadable;
      }),
    );
    const task = await poll(d, 'w1');
    await assert.rejects(collect(d.openSources(claimOf(task, 'w1'), new AbortController().signal)), /truncated/);
    await assert.rejects(outcome, (error: unknown) => error === unreadable);
  });

  test('cancelRequest withdraws the tiles of that request only', async (t) => {
    const d = dispatcher(t);
    const mine = d.dispatch(offer(0));
    const other = d.dispatch({ ...offer(0), requestId: 'r2' });
    d.cancelRequest('r1', new Error('request failed'));
    await assert.rejects(mine, /request failed/);
    const task = await poll(d, 'w1');
    assert.equal(task.requestId, 'r2');
    await d.submit(result(task, 'w1'));
    await other;
  });

  test('close ends parked polls with null and rejects outstanding tiles', async (t) => {
    const d = dispatcher(t);
    const parked = d.nextTask('w1', 60_000, new AbortController().signal);
    d.close();
    assert.equal(await parked, null);
    await assert.rejects(d.dispatch(offer(1)), /closed/);
  });

  test('tiles are handed out in order, re-issued tiles first', async (t) => {
    const d = dispatcher(t, 30);
    const outcomes = [0, 1, 2].map((i) => d.dispatch(offer(i)));
    const t0 = await poll(d, 'w');
    assert.equal(t0.tileIndex, 0);
    t.mock.timers.tick(30); // t0's lease expires
    const next = await poll(d, 'w');
    assert.equal(next.tileIndex, 0);
    assert.equal(next.attempt, 2);
    for (const task of [next, await poll(d, 'w'), await poll(d, 'w')]) await d.submit(result(task, 'w'));
    await Promise.all(outcomes);
  });
});

