import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IndexTile } from '../../shared/proto/tile-service.js';
import { ownPngs, ScratchArrays } from '../../worker/scratch-arrays.js';

describe('ScratchArrays', () => {
  it('hands the same memory back after releaseAll, zeroed, for the same type and length only', () => {
    const scratch = new ScratchArrays();
    const first = scratch.take('uint16', 8);
    first.fill(7);
    const bytes = scratch.bytes(8);
    scratch.releaseAll();
    const again = scratch.take('uint16', 8);
    assert.equal(again, first, 'reused');
    assert.deepEqual([...again], new Array(8).fill(0), 'zeroed as a new array would be');
    assert.notEqual(scratch.take('uint16', 9), first, 'another length is another array');
    assert.notEqual(scratch.take('int16', 8), first, 'another type is another array');
    assert.equal(scratch.bytes(8), bytes);
  });

  it('zeroed false: the reused array as the last strip left it (for callers that write every value); a new one is zeroed all the same', () => {
    const scratch = new ScratchArrays();
    const first = scratch.take('uint16', 8, false);
    assert.deepEqual([...first], new Array(8).fill(0), 'a new array starts zeroed');
    first.fill(7);
    scratch.releaseAll();
    const again = scratch.take('uint16', 8, false);
    assert.equal(again, first);
    assert.deepEqual([...again], new Array(8).fill(7), 'not cleared');
    scratch.releaseAll();
    assert.deepEqual([...scratch.take('uint16', 8)], new Array(8).fill(0), 'zeroed by default');
  });

  it('never hands out an array that is still taken, and keeps at most keepPerSize for reuse', () => {
    const scratch = new ScratchArrays(2);
    const taken = [scratch.bytes(4), scratch.bytes(4), scratch.bytes(4)];
    assert.equal(new Set(taken).size, 3);
    scratch.releaseAll();
    const next = [scratch.bytes(4), scratch.bytes(4), scratch.bytes(4)];
    assert.equal(next.filter((a) => taken.includes(a)).length, 2, 'two were kept, the third is new');
  });

  it('growing(key): the same memory for a key, strip after strip; ownPngs gives a result bytes the next strip cannot overwrite', () => {
    const scratch = new ScratchArrays();
    const memory = scratch.growing('png:ndvi');
    assert.equal(scratch.growing('png:ndvi'), memory);
    assert.notEqual(scratch.growing('png:ndsi'), memory);
    memory.append(Buffer.from([1, 2, 3]));
    const tiles: IndexTile[] = [{ index: 'ndvi', png: memory.bytes() }, { index: 'ndsi', png: Buffer.alloc(0) }];
    ownPngs(tiles);
    memory.reset();
    memory.append(Buffer.from([9, 9, 9])); // the next strip, built in the same memory
    assert.deepEqual([...(tiles[0]!.png as Uint8Array)], [1, 2, 3]);
    assert.equal((tiles[1]!.png as Uint8Array).length, 0);
  });
});
