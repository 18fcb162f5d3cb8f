import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GrowingBytes } from '../../shared/growing-bytes.js';

describe('GrowingBytes: parts written one after another into memory kept for reuse', () => {
  it('appends, and keeps what was written when it grows', () => {
    const out = new GrowingBytes(4);
    out.append(Buffer.from([1, 2, 3]));
    out.append(Buffer.from([4, 5, 6, 7, 8])); // past the 4 bytes it started with
    assert.deepEqual([...out.bytes()], [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(out.length, 8);
    assert.deepEqual([...out.bytes(2, 5)], [3, 4, 5]);
  });

  it('room() to write into, commit() to count it; committing more than the room is a RangeError', () => {
    const out = new GrowingBytes();
    out.append(Buffer.from([9]));
    const room = out.room(3);
    assert.ok(room.length >= 3);
    room.set([7, 6]);
    out.commit(2);
    assert.deepEqual([...out.bytes()], [9, 7, 6]);
    assert.throws(() => out.commit(out.room(0).length + 1), RangeError);
    assert.throws(() => out.commit(-1), RangeError);
    assert.deepEqual([...out.bytes()], [9, 7, 6], 'a refused commit changes nothing');
  });

  it('reset() forgets the bytes but keeps the memory; a larger reserve replaces it', () => {
    const out = new GrowingBytes(64);
    out.append(Buffer.alloc(10, 1));
    const memory = out.bytes().buffer;
    out.reset(32);
    assert.equal(out.length, 0);
    out.append(Buffer.from([5]));
    assert.equal(out.bytes().buffer, memory, 'the same memory, reused');
    out.reset(1000);
    assert.notEqual(out.room(0).buffer, memory);
    assert.ok(out.room(0).length >= 1000);
  });
});
