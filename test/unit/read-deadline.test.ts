/** ReadDeadline: an attempt's read timeout, restarted by every byte; readBody reports each chunk. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReadDeadline, readBody } from '../../master/source/read-deadline.js';

describe('ReadDeadline', () => {
  it('aborts after the timeout without data, and says it expired', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const deadline = new ReadDeadline(1_000);
    t.mock.timers.tick(999);
    assert.equal(deadline.signal.aborted, false);
    t.mock.timers.tick(1);
    assert.equal(deadline.signal.aborted, true);
    assert.equal(deadline.expired, true);
    assert.equal((deadline.signal.reason as DOMException).name, 'TimeoutError');
  });

  it('gives a full timeout again after each piece of data', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const deadline = new ReadDeadline(1_000);
    for (let i = 0; i < 5; i++) {
      t.mock.timers.tick(900);
      deadline.progress();
    }
    assert.equal(deadline.signal.aborted, false, '4.5 s in all, never 1 s silent');
    t.mock.timers.tick(1_000);
    assert.equal(deadline.expired, true);
  });

  it('follows the caller\'s abort without calling it a timeout', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const caller = new AbortController();
    const deadline = new ReadDeadline(1_000, caller.signal);
    caller.abort(new Error('stopping'));
    assert.equal(deadline.signal.aborted, true);
    assert.equal(deadline.expired, false);
    assert.equal((deadline.signal.reason as Error).message, 'stopping');
  });

  it('leaves no timer behind once cleared', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const deadline = new ReadDeadline(1_000);
    deadline.clear();
    t.mock.timers.tick(5_000);
    assert.equal(deadline.signal.aborted, false);
  });
});

describe('readBody', () => {
  it('joins the chunks and counts each as progress', async () => {
    const parts = [new Uint8Array([1, 2, 3]), new Uint8Array([4]), new Uint8Array([5, 6])];
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const part of parts) controller.enqueue(part);
        controller.close();
      },
    });
    let progress = 0;
    const deadline = { progress: () => (progress += 1) } as unknown as ReadDeadline;
    const data = await readBody(new Response(body), deadline);
    assert.deepEqual([...new Uint8Array(data)], [1, 2, 3, 4, 5, 6]);
    assert.equal(progress, 3);
    const deadlineOfEmpty = new ReadDeadline(60_000);
    assert.equal((await readBody(new Response(null), deadlineOfEmpty)).byteLength, 0);
    deadlineOfEmpty.clear();
  });
});
