/** StripVerifier's decisions: two workers agree; they disagree and a third decides; no second (or third) worker comes. */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { TileDispatcher, type WorkerRef } from '../../master/dispatch/tile-dispatcher.js';
import { StripVerifier, resultDigest, type StripWork } from '../../master/strip-verifier.js';
import { VerificationTally } from '../../master/verification-tally.js';
import { VerificationError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import type { SubmitResultRequest__Output } from '../../shared/proto/tile-service.js';

const log = createLogger('test', 'silent');
const RUN = { requestId: 'r1', claim: 1 };
const never = new AbortController().signal;
/** Tests whose fake clock is on (a test may build several harnesses). */
const mocked = new WeakSet<TestContext>();

interface Harness {
  readonly dispatcher: TileDispatcher;
  readonly tally: VerificationTally;
  readonly verifier: StripVerifier;
  readonly stitched: Array<{ data: string; worker: string; verified: boolean }>;
  readonly banned: Array<{ worker: string; strip: number }>;
  readonly work: StripWork<string>;
  /** `workerId` takes the next tile it may have and answers `answer` (the bytes of its one index). */
  answer(workerId: string, answer: string): Promise<string>;
}

function harness(t: TestContext, waitMs = 1_000): Harness {
  if (!mocked.has(t)) t.mock.timers.enable({ apis: ['setTimeout'] });
  mocked.add(t);
  const dispatcher = new TileDispatcher({ leaseMs: 60_000, maxAttempts: 3, log });
  t.after(() => dispatcher.close());
  const tally = new VerificationTally(1);
  const stitched: Harness['stitched'] = [];
  const banned: Harness['banned'] = [];
  const verifier = new StripVerifier({
    dispatcher,
    run: RUN,
    waitMs,
    tally,
    log,
    onBan: async (worker: WorkerRef, strip: number) => {
      dispatcher.banWorker(RUN, worker);
      banned.push({ worker: worker.workerId, strip });
    },
  });
  const work: StripWork<string> = {
    offer: { requestId: 'r1', claim: 1, tileIndex: 7, task: { width: 4, height: 1, indices: ['ndvi'] }, sources: async function* () {} },
    check: (result) => ({ data: result.tiles[0]!.png.toString(), digest: resultDigest(result) }),
    stitch: async (data, worker, verified) => void stitched.push({ data, worker: worker.workerId, verified }),
    recompute: async () => assert.fail('not expected to recompute'),
  };
  return {
    dispatcher,
    tally,
    verifier,
    stitched,
    banned,
    work,
    async answer(workerId, answer) {
      const task = await dispatcher.nextTask(workerId, 60_000, never);
      assert.ok(task, `${workerId} got no task`);
      const taskId = String(task.taskId);
      const result: SubmitResultRequest__Output = {
        workerId,
        taskId,
        attempt: Number(task.attempt),
        tiles: [{ index: 'ndvi', png: Buffer.from(answer), stats: { validPixels: 4, min: 0, max: 1, sum: 2, maskedPixels: 0 }, preview: Buffer.alloc(0), cog: [], pngInFile: false, pngSize: 0 }],
        timings: null,
        error: '',
      };
      const verdict = await dispatcher.submit(result);
      assert.ok(verdict.accepted, verdict.reason);
      return taskId;
    },
  };
}

describe('StripVerifier', () => {
  test('two workers agree: the strip is stitched once, verified, and both count it', async (t) => {
    const h = harness(t);
    const done = h.verifier.verify(h.work);
    assert.equal(await h.answer('a', 'right'), 'r1/1/7');
    assert.equal(h.stitched.length, 0, 'the first result is held, not stitched');
    assert.equal(await h.answer('b', 'right'), 'r1/1/7/v');
    await done;
    assert.deepEqual(h.stitched, [{ data: 'right', worker: 'a', verified: true }]);
    assert.deepEqual(h.banned, []);
    const summary = h.tally.summary();
    assert.equal(summary.sampledStrips, 1);
    assert.deepEqual(summary.byWorker['a'], { verified: 1, minority: 0, unverified: 0, discarded: 0, banned: false });
    assert.deepEqual(summary.byWorker['b'], { verified: 1, minority: 0, unverified: 0, discarded: 0, banned: false });
  });

  test('the replica never goes back to the first worker', async (t) => {
    const h = harness(t);
    const done = h.verifier.verify(h.work);
    await h.answer('a', 'right');
    const again = h.dispatcher.nextTask('a', 100, never);
    t.mock.timers.tick(100);
    assert.equal(await again, null, 'a may not verify itself');
    await h.answer('b', 'right');
    await done;
  });

  test('they disagree: a third worker decides, its (the majority\'s) bytes are stitched, the minority is banned', async (t) => {
    for (const cheater of ['first', 'second'] as const) {
      const h = harness(t);
      const done = h.verifier.verify(h.work);
      await h.answer('a', cheater === 'first' ? 'flipped' : 'right');
      await h.answer('b', cheater === 'second' ? 'flipped' : 'right');
      assert.equal(h.stitched.length, 0, 'nothing stitched while they disagree');
      const refused = h.dispatcher.nextTask('a', 100, never);
      t.mock.timers.tick(100);
      assert.equal(await refused, null, 'the arbiter goes to neither of them');
      assert.equal(await h.answer('c', 'right'), 'r1/1/7/a');
      await done;
      const [majority, minority] = cheater === 'first' ? ['b', 'a'] : ['a', 'b'];
      assert.deepEqual(h.stitched, [{ data: 'right', worker: majority, verified: true }]);
      assert.deepEqual(h.banned, [{ worker: minority, strip: 7 }]);
      const summary = h.tally.summary();
      assert.equal(summary.arbitrations, 1);
      assert.equal(summary.byWorker[minority]?.minority, 1);
      assert.equal(summary.byWorker[majority]?.verified, 1);
      assert.equal(summary.byWorker['c']?.verified, 1);
    }
  });

  test('no second worker within the wait: the first result is stitched unverified, never a hang', async (t) => {
    const h = harness(t, 500);
    const done = h.verifier.verify(h.work);
    await h.answer('only', 'right');
    t.mock.timers.tick(500);
    await done;
    assert.deepEqual(h.stitched, [{ data: 'right', worker: 'only', verified: false }]);
    const summary = h.tally.summary();
    assert.equal(summary.replicasGivenUp, 1);
    assert.deepEqual(h.tally.unverifiedOf('only'), [], 'the tally hears of the stitch from the pipeline, not the verifier');
  });

  test('a disagreement with no third worker, or three different answers, fails with a VerificationError', async (t) => {
    const lonely = harness(t, 500);
    const undecided = lonely.verifier.verify(lonely.work);
    await lonely.answer('a', 'one');
    await lonely.answer('b', 'two');
    t.mock.timers.tick(500);
    await assert.rejects(undecided, (error: unknown) => error instanceof VerificationError && /workers a and b returned different results for strip 7, and no third worker took it within 500 ms/.test(error.message));

    const split = harness(t);
    const threeWays = split.verifier.verify(split.work);
    await split.answer('a', 'one');
    await split.answer('b', 'two');
    await split.answer('c', 'three');
    await assert.rejects(threeWays, (error: unknown) => error instanceof VerificationError && /three different results for strip 7: no majority/.test(error.message));
    assert.deepEqual([...lonely.stitched, ...split.stitched], [], 'nothing anyone disputes reaches the mosaic');
  });

  test('the digest covers the PNG bytes, the statistics and the preview samples, not the timings', () => {
    const base: SubmitResultRequest__Output = {
      workerId: 'a',
      taskId: 't',
      attempt: 1,
      tiles: [{ index: 'ndvi', png: Buffer.from('png'), stats: { validPixels: 4, min: 0, max: 1, sum: 2, maskedPixels: 0 }, preview: Buffer.from([1, 2]), cog: [], pngInFile: false, pngSize: 0 }],
      timings: { decodeMs: 1, receiveMs: 1, computeMs: 1, encodeMs: 1, cpuMs: 1, directBytes: 0 },
      error: '',
    };
    const digest = resultDigest(base);
    assert.equal(resultDigest({ ...base, workerId: 'b', timings: { decodeMs: 9, receiveMs: 9, computeMs: 9, encodeMs: 9, cpuMs: 9, directBytes: 0 } }), digest);
    assert.notEqual(resultDigest({ ...base, tiles: [{ ...base.tiles[0]!, png: Buffer.from('pnh') }] }), digest);
    assert.notEqual(resultDigest({ ...base, tiles: [{ ...base.tiles[0]!, stats: { validPixels: 4, min: 0, max: 1, sum: 2.5, maskedPixels: 0 } }] }), digest);
    assert.notEqual(resultDigest({ ...base, tiles: [{ ...base.tiles[0]!, stats: { validPixels: 4, min: 0, max: 1, sum: 2, maskedPixels: 1 } }] }), digest, 'the masked count is compared too');
    assert.notEqual(resultDigest({ ...base, tiles: [{ ...base.tiles[0]!, preview: Buffer.from([1, 3]) }] }), digest, 'and the preview samples');
  });
});
