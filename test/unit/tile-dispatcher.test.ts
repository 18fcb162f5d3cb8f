import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TileDispatcher, type TileOffer } from '../../master/dispatch/tile-dispatcher.js';
import { TileFailedError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import type { SubmitResultRequest__Output, TileTask } from '../../shared/proto/tile-service.js';

const log = createLogger('test', 'silent');

function dispatcher(leaseMs = 1_000, maxAttempts = 3): TileDispatcher {
  return new TileDispatcher({ leaseMs, maxAttempts, log });
}

function offer(tileIndex: number, accept: TileOffer['accept'] = async () => undefined): TileOffer {
  return { requestId: 'r1', tileIndex, task: { width: 4, height: 4, indices: ['ndvi'] }, accept };
}

function result(task: TileTask, workerId: string, extra: Partial<SubmitResultRequest__Output> = {}): SubmitResultRequest__Output {
  return {
    workerId,
    taskId: String(task.taskId),
    attempt: Number(task.attempt),
    tiles: [],
    timings: null,
    error: '',
    ...extra,
  };
}

async function poll(d: TileDispatcher, workerId: string, holdMs = 500, signal = new AbortController().signal): Promise<TileTask> {
  const task = await d.nextTask(workerId, holdMs, signal);
  assert.ok(task, `${workerId} expected a task`);
  return task;
}

describe('TileDispatcher', () => {
  test('a waiting long poll receives a tile as soon as it is offered', async () => {
    const d = dispatcher();
    const waiting = d.nextTask('w1', 5_000, new AbortController().signal);
    await sleep(10);
    const outcome = d.dispatch(offer(0));
    const task = await waiting;
    assert.ok(task);
    assert.equal(task.taskId, 'r1/0');
    assert.equal(task.attempt, 1);
    assert.deepEqual(await d.submit(result(task, 'w1')), { accepted: true, reason: '' });
    assert.deepEqual(await outcome, { workerId: 'w1', attempt: 1 });
    d.close();
  });

  test('a poll with nothing to do ends with null after the hold time', async () => {
    const d = dispatcher();
    const started = Date.now();
    assert.equal(await d.nextTask('w1', 50, new AbortController().signal), null);
    assert.ok(Date.now() - started >= 45);
    d.close();
  });

  test('a cancelled poll is never handed a tile; the next poll gets it', async () => {
    const d = dispatcher();
    const cancelled = new AbortController();
    const first = d.nextTask('gone', 5_000, cancelled.signal);
    cancelled.abort();
    assert.equal(await first, null);
    const outcome = d.dispatch(offer(0));
    assert.deepEqual(d.counts(), { ready: 1, leased: 0, waitingWorkers: 0 });
    const task = await poll(d, 'w2');
    await d.submit(result(task, 'w2'));
    assert.equal((await outcome).workerId, 'w2');
    d.close();
  });

  test('an expired lease hands the tile out again with the next attempt number', async () => {
    const d = dispatcher(40);
    const outcome = d.dispatch(offer(0));
    const first = await poll(d, 'slow');
    const second = await poll(d, 'fast', 1_000);
    assert.equal(first.attempt, 1);
    assert.equal(second.attempt, 2);
    await d.submit(result(second, 'fast'));
    assert.deepEqual(await outcome, { workerId: 'fast', attempt: 2 });
    // The slow worker's late duplicate is dropped and changes nothing.
    const late = await d.submit(result(first, 'slow'));
    assert.equal(late.accepted, false);
    assert.match(late.reason, /late duplicate/);
    d.close();
  });

  test('the first valid result wins even when it is from an earlier attempt', async () => {
    const d = dispatcher(40);
    const accepted: string[] = [];
    const outcome = d.dispatch(offer(0, async (r) => void accepted.push(r.workerId)));
    const first = await poll(d, 'a');
    const second = await poll(d, 'b', 1_000);
    assert.equal((await d.submit(result(first, 'a'))).accepted, true);
    assert.equal((await d.submit(result(second, 'b'))).accepted, false);
    assert.deepEqual(accepted, ['a']);
    assert.equal((await outcome).workerId, 'a');
    d.close();
  });

  test('a rejected result puts the tile back; after maxAttempts the tile fails', async () => {
    const d = dispatcher(10_000, 2);
    const outcome = d.dispatch(
      offer(0, async () => {
        throw new Error('bad PNG');
      }),
    );
    const t1 = await poll(d, 'w1');
    const verdict = await d.submit(result(t1, 'w1'));
    assert.deepEqual(verdict, { accepted: false, reason: 'bad PNG' });
    const t2 = await poll(d, 'w2');
    assert.equal(t2.attempt, 2);
    await d.submit(result(t2, 'w2'));
    await assert.rejects(outcome, (error: unknown) => error instanceof TileFailedError && /after 2 attempts.*bad PNG/.test(error.message));
    assert.deepEqual(d.counts(), { ready: 0, leased: 0, waitingWorkers: 0 });
    d.close();
  });

  test('a worker-reported error re-issues the tile at once', async () => {
    const d = dispatcher(10_000, 3);
    const outcome = d.dispatch(offer(0));
    const t1 = await poll(d, 'w1');
    await d.submit(result(t1, 'w1', { error: 'decoder blew up' }));
    const t2 = await poll(d, 'w2', 50);
    assert.equal(t2.attempt, 2);
    await d.submit(result(t2, 'w2'));
    assert.equal((await outcome).workerId, 'w2');
    d.close();
  });

  test('cancelRequest withdraws the tiles of that request only', async () => {
    const d = dispatcher();
    const mine = d.dispatch(offer(0));
    const other = d.dispatch({ ...offer(0), requestId: 'r2' });
    d.cancelRequest('r1', new Error('request failed'));
    await assert.rejects(mine, /request failed/);
    const task = await poll(d, 'w1');
    assert.equal(task.requestId, 'r2');
    await d.submit(result(task, 'w1'));
    await other;
    d.close();
  });

  test('close ends parked polls with null and rejects outstanding tiles', async () => {
    const d = dispatcher();
    const parked = d.nextTask('w1', 60_000, new AbortController().signal);
    await sleep(5);
    d.close();
    assert.equal(await parked, null);
    await assert.rejects(d.dispatch(offer(1)), /closed/);
  });

  test('tiles are handed out in order, re-issued tiles first', async () => {
    const d = dispatcher(30);
    const outcomes = [0, 1, 2].map((i) => d.dispatch(offer(i)));
    const t0 = await poll(d, 'w');
    assert.equal(t0.tileIndex, 0);
    await sleep(60); // t0's lease expires
    const next = await poll(d, 'w');
    assert.equal(next.tileIndex, 0);
    assert.equal(next.attempt, 2);
    for (const t of [next, await poll(d, 'w'), await poll(d, 'w')]) await d.submit(result(t, 'w'));
    await Promise.all(outcomes);
    d.close();
  });
});
