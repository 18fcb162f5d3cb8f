import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BlockCache, type ByteRange } from '../../master/source/block-cache.js';

/** A fake file: range bytes are the offset's low byte, repeated; records every fetch call. */
function fakeFile() {
  const calls: ByteRange[][] = [];
  const fetch = async (ranges: readonly ByteRange[]) => {
    calls.push([...ranges]);
    return ranges.map((r) => new Uint8Array(r.length).fill(r.offset & 0xff).buffer);
  };
  return { calls, fetch };
}

test('a block read twice is fetched once, and the bytes are right', async () => {
  const cache = new BlockCache(1_000);
  const file = fakeFile();
  const first = await cache.read([{ offset: 10, length: 4 }, { offset: 20, length: 4 }], file.fetch);
  const again = await cache.read([{ offset: 20, length: 4 }, { offset: 30, length: 4 }], file.fetch);
  assert.deepEqual([...first[0]!], [10, 10, 10, 10]);
  assert.deepEqual([...again[0]!], [20, 20, 20, 20]);
  assert.deepEqual([...again[1]!], [30, 30, 30, 30]);
  assert.deepEqual(file.calls, [[{ offset: 10, length: 4 }, { offset: 20, length: 4 }], [{ offset: 30, length: 4 }]]);
  assert.deepEqual(cache.stats(), { hits: 1, misses: 3, bytes: 12 });
});

test('concurrent reads of the same block share one fetch', async () => {
  const cache = new BlockCache(1_000);
  const file = fakeFile();
  const range = { offset: 7, length: 100 };
  const [a, b] = await Promise.all([cache.read([range], file.fetch), cache.read([range], file.fetch)]);
  assert.equal(file.calls.length, 1);
  assert.ok(a[0]!.equals(b[0]!));
});

test('the least recently used blocks go first when the byte budget is exceeded', async () => {
  const cache = new BlockCache(250);
  const file = fakeFile();
  await cache.read([{ offset: 1, length: 100 }], file.fetch);
  await cache.read([{ offset: 2, length: 100 }], file.fetch);
  await cache.read([{ offset: 1, length: 100 }], file.fetch); // 1 is now the most recent
  await cache.read([{ offset: 3, length: 100 }], file.fetch); // over budget: 2 goes
  assert.equal(cache.stats().bytes, 200);
  file.calls.length = 0;
  await cache.read([{ offset: 1, length: 100 }, { offset: 3, length: 100 }], file.fetch);
  assert.equal(file.calls.length, 0, '1 and 3 are still cached');
  await cache.read([{ offset: 2, length: 100 }], file.fetch);
  assert.deepEqual(file.calls, [[{ offset: 2, length: 100 }]], '2 was evicted');
});

test('a block larger than the whole budget is still returned', async () => {
  const cache = new BlockCache(10);
  const file = fakeFile();
  const [big] = await cache.read([{ offset: 5, length: 50 }], file.fetch);
  assert.equal(big!.length, 50);
});

test('a failed fetch is not remembered: the next read tries again', async () => {
  const cache = new BlockCache(1_000);
  let fail = true;
  const flaky = async (ranges: readonly ByteRange[]) => {
    if (fail) throw new Error('network down');
    return ranges.map((r) => new Uint8Array(r.length).buffer);
  };
  await assert.rejects(cache.read([{ offset: 0, length: 8 }], flaky), /network down/);
  fail = false;
  const [data] = await cache.read([{ offset: 0, length: 8 }], flaky);
  assert.equal(data!.length, 8);
  assert.equal(cache.stats().bytes, 8);
});
