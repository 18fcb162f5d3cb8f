import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PollLimits } from '../../master/dispatch/poll-limits.js';

describe('PollLimits', () => {
  it('holds at most perPeer polls per peer and total in all; a release frees one place, once', () => {
    const limits = new PollLimits({ perPeer: 2, total: 3 });
    const a1 = limits.enter('a');
    const a2 = limits.enter('a');
    assert.ok(a1 && a2);
    assert.equal(limits.enter('a'), null);
    assert.match(limits.describe('a'), /too many parked GetTask calls from a \(at most 2 at once\)/);
    const b1 = limits.enter('b');
    assert.ok(b1);
    assert.equal(limits.enter('c'), null, 'the total bound');
    assert.match(limits.describe('c'), /at most 3 at once/);
    a1();
    a1(); // twice: frees one place only
    assert.ok(limits.enter('c'));
    assert.equal(limits.enter('a'), null);
  });
});
