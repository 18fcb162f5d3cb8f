/** TileDispatcher: tiles that name which workers may take them, a bounded wait for one, and per-run bans. */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { TileDispatcher, UntakenTileError, type TileOffer, type WorkerRef } from '../../master/dispatch/tile-dispatcher.js';
import { createLogger } from '../../shared/logger.js';
import type { SubmitResultRequest__Output, TileTask } from '../../shared/proto/tile-service.js';

const log = createLogger('test', 'silent');
const RUN = { requestId: 'r1', claim: 1 };

function dispatcher(t: TestContext, leaseMs = 1_000): TileDispatcher {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const d = new TileDispatcher({ leaseMs, maxAttempts: 3, log });
  t.after(() => d.close());
  return d;
}

function offer(tileIndex: number, extra: Partial<TileOffer> = {}): TileOffer {
  return {
    requestId: 'r1',
    claim: 1,
    tileIndex,
    task: { width: 4, height: 4, indices: ['ndvi'] },
    sources: async function* () {},
    accept: async () => undefined,
    ...extra,
  };
}

function result(task: TileTask, workerId: string): SubmitResultRequest__Output {
  return { workerId, taskId: String(task.taskId), attempt: Number(task.attempt), tiles: [], timings: null, error: '' };
}

const never = new AbortController().signal;
const notW1 = (worker: WorkerRef): boolean => worker.workerId !== 'w1';

describe('TileDispatcher: eligibility', () => {
  test('a poll takes the first ready tile it may have, passing over the others', async (t) => {
    const d = dispatcher(t);
    const restricted = d.dispatch(offer(0, { eligible: notW1, variant: 'v' }));
    const open = d.dispatch(offer(1));
    const forW1 = await d.nextTask('w1', 500, never);
    assert.equal(forW1?.tileIndex, 1, 'w1 skips the tile it may not have');
    assert.equal(d.counts().ready, 1);
    const forW2 = await d.nextTask('w2', 500, never);
    assert.equal(forW2?.taskId, 'r1/1/0/v', 'the variant is part of the task id');
    await d.submit(result(forW1!, 'w1'));
    await d.submit(result(forW2!, 'w2'));
    assert.deepEqual(await restricted, { workerId: 'w2', attempt: 1 });
    await open;
  });

  test('a new tile goes to the first waiting poll that may have it', async (t) => {
    const d = dispatcher(t);
    const w1 = d.nextTask('w1', 5_000, never);
    const w2 = d.nextTask('w2', 5_000, never);
    const outcome = d.dispatch(offer(0, { eligible: notW1 }));
    const task = await w2;
    assert.equal(task?.tileIndex, 0);
    assert.equal(d.counts().waitingWorkers, 1, 'w1 still waits');
    await d.submit(result(task!, 'w2'));
    await outcome;
    d.close();
    assert.equal(await w1, null);
  });

  test('an urgent tile goes to the front of the queue', async (t) => {
    const d = dispatcher(t);
    const outcomes = [d.dispatch(offer(0)), d.dispatch(offer(1)), d.dispatch(offer(2, { urgent: true, variant: 'v' }))];
    const order: string[] = [];
    for (let i = 0; i < 3; i++) {
      const task = await d.nextTask('w', 500, never);
      order.push(String(task?.taskId));
      await d.submit(result(task!, 'w'));
    }
    assert.deepEqual(order, ['r1/1/2/v', 'r1/1/0', 'r1/1/1']);
    await Promise.all(outcomes);
  });
});

describe('TileDispatcher: bounded wait', () => {
  test('a tile nobody eligible takes within maxWaitMs is given up', async (t) => {
    const d = dispatcher(t);
    const outcome = d.dispatch(offer(0, { eligible: notW1, maxWaitMs: 200 }));
    const w1 = d.nextTask('w1', 1_000, never);
    t.mock.timers.tick(199);
    assert.equal(d.counts().ready, 1);
    t.mock.timers.tick(1);
    await assert.rejects(outcome, (error: unknown) => error instanceof UntakenTileError && /no eligible worker took it within 200 ms/.test(error.message));
    assert.deepEqual(d.counts(), { ready: 0, leased: 0, waitingWorkers: 1 });
    t.mock.timers.tick(800);
    assert.equal(await w1, null);
  });

  test('the wait stops while the tile is on lease, and starts again when it comes back', async (t) => {
    const d = dispatcher(t, 1_000);
    const outcome = d.dispatch(offer(0, { maxWaitMs: 200 }));
    const task = await d.nextTask('w2', 500, never);
    assert.ok(task);
    t.mock.timers.tick(999); // on lease far longer than the wait: not given up
    assert.equal(d.counts().leased, 1);
    t.mock.timers.tick(1); // the lease expires: back in the queue, the wait starts again
    assert.equal(d.counts().ready, 1);
    t.mock.timers.tick(200);
    await assert.rejects(outcome, UntakenTileError);
  });
});

describe('TileDispatcher: bans', () => {
  test('a banned worker gets no more tiles of the run, loses its leases there, and its results are refused', async (t) => {
    const d = dispatcher(t);
    const held = d.dispatch(offer(0));
    const otherRun = d.dispatch({ ...offer(0), claim: 2 });
    const task = await d.nextTask('cheat', 500, never);
    assert.equal(task?.taskId, 'r1/1/0');
    const revoked = d.banWorker(RUN, { workerId: 'cheat', connection: '' });
    assert.equal(revoked, 1, 'its lease went back');
    assert.ok(d.isBanned(RUN, { workerId: 'cheat', connection: '' }));
    const refused = await d.submit(result(task!, 'cheat'));
    assert.equal(refused.accepted, false);
    assert.match(refused.reason, /cheat is banned from request r1/);

    const next = await d.nextTask('cheat', 500, never);
    assert.equal(next?.taskId, 'r1/2/0', 'only another run\'s tile');
    await d.submit(result(next!, 'cheat'));
    await otherRun;
    const honest = await d.nextTask('honest', 500, never);
    assert.equal(honest?.taskId, 'r1/1/0');
    assert.equal(honest?.attempt, 2);
    await d.submit(result(honest!, 'honest'));
    assert.deepEqual(await held, { workerId: 'honest', attempt: 2 });
  });

  test('a ban is by worker id, for that run only: other workers on the same connection go on; endRun forgets the bans', async (t) => {
    const d = dispatcher(t);
    const connection = 'ipv4:127.0.0.1:5000'; // in-process workers share one
    d.banWorker(RUN, { workerId: 'cheat', connection });
    const outcomes = [d.dispatch(offer(0)), d.dispatch(offer(1))];
    const cheat = d.nextTask('cheat', 100, never, connection);
    t.mock.timers.tick(100);
    assert.equal(await cheat, null);
    const neighbour = await d.nextTask('neighbour', 100, never, connection);
    assert.ok(neighbour, 'another worker on the same connection is not banned');
    await d.submit(result(neighbour, 'neighbour'), connection);
    d.endRun(RUN);
    const task = await d.nextTask('cheat', 100, never, connection);
    assert.ok(task, 'a new run of the request starts with no bans');
    await d.submit(result(task, 'cheat'), connection);
    await Promise.all(outcomes);
  });
});
