import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { alignedBuffer, UnbufferedFile } from '../../master/output/unbuffered-file.js';
import { prng } from '../support/prng.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-unbuffered-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Whether this directory's file system takes O_DIRECT writes (probed with an aligned 4 KiB write, independently of the class). */
async function takesDirectWrites(folder: string): Promise<boolean> {
  const probe = join(folder, 'probe');
  await writeFile(probe, '');
  const handle = await open(probe, constants.O_WRONLY | constants.O_DIRECT).catch(() => undefined);
  if (!handle) return false;
  try {
    await handle.write(alignedBuffer(4096), 0, 4096, 0);
    return true;
  } catch {
    return false;
  } finally {
    await handle.close();
  }
}

/** Random bytes in pieces of random sizes (0 to 3 staging buffers long), `total` in all. */
function pieces(random: () => number, total: number, staging: number): Buffer[] {
  const out: Buffer[] = [];
  for (let left = total; left > 0; ) {
    const size = Math.min(left, Math.floor(random() * random() * 3 * staging));
    const piece = Buffer.alloc(size);
    for (let i = 0; i < size; i++) piece[i] = Math.floor(random() * 256);
    out.push(piece);
    left -= size;
  }
  return out;
}

describe('UnbufferedFile', () => {
  it('appends, reads back, truncates and resumes exactly like an ordinary file, staged writes crossing every boundary', async () => {
    const random = prng(7);
    const staging = alignedBuffer(3 * 4096); // small, so that a few KB cross many staging and block boundaries
    const path = join(dir, 'mixed.bin');
    let expected = Buffer.alloc(0);
    const file = await UnbufferedFile.open(path, 'w+', { staging });
    const direct = await takesDirectWrites(dir);
    assert.equal(file.direct, direct, 'direct writes exactly where the file system takes them');
    for (const [n, part] of pieces(random, 200_000, staging.length).entries()) {
      // One to three parts per call, as the stitcher appends a strip's chunks.
      await file.append([part.subarray(0, part.length >> 1), part.subarray(part.length >> 1)]);
      expected = Buffer.concat([expected, part]);
      assert.equal(file.length, expected.length);
      if (n % 5 === 2) await file.sync();
      if (n % 7 === 3 && expected.length > 10) {
        // Read a range that ends in what is still staged.
        const start = Math.floor(random() * expected.length);
        const into = Buffer.alloc(expected.length - start);
        await file.read(into, start);
        assert.deepEqual(into, expected.subarray(start));
      }
      if (n % 11 === 5) {
        // A rewind: back to an unaligned length, then on from there.
        const keep = Math.floor(expected.length * 0.7) | 1;
        await file.truncate(keep);
        expected = expected.subarray(0, keep);
      }
    }
    assert.equal(file.direct, direct, 'still direct: no write was refused (every one aligned)');
    await file.close();
    assert.deepEqual(await readFile(path), expected);

    // Opened again ('r+', a resumed run): cut back to an odd length and continued.
    const again = await UnbufferedFile.open(path, 'r+', { staging });
    assert.equal(again.length, expected.length);
    await again.truncate(expected.length - 4097);
    const tail = Buffer.from('the rest of the file, after a resume');
    await again.append([tail]);
    assert.equal(again.direct, direct);
    await again.close();
    assert.deepEqual(await readFile(path), Buffer.concat([expected.subarray(0, expected.length - 4097), tail]));
  });

  it('falls back to the page cache, losing nothing, when the kernel refuses a direct write', async (t) => {
    if (!(await takesDirectWrites(dir))) return t.skip(`${dir} takes no O_DIRECT writes at all, so none can be refused midway`);
    // A staging buffer one byte off alignment: the real kernel answers EINVAL at the first full buffer.
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
    const misaligned = Buffer.from(memory.buffer, 1, 4096 * 2);
    const path = join(dir, 'refused.bin');
    const file = await UnbufferedFile.open(path, 'w+', { staging: misaligned });
    assert.equal(file.direct, true, 'O_DIRECT opened');
    const parts = pieces(prng(3), 50_000, misaligned.length);
    for (const part of parts) await file.append([part]);
    assert.equal(file.direct, false, 'direct writes are off after the refusal');
    await file.close();
    assert.deepEqual(await readFile(path), Buffer.concat(parts));
  });

  it('runs calls that overlap one after another, in the order they were made (a checkpoint sync during an append)', async () => {
    const staging = alignedBuffer(2 * 4096);
    const path = join(dir, 'overlap.bin');
    const file = await UnbufferedFile.open(path, 'w+', { staging });
    const random = prng(11);
    let expected = Buffer.alloc(0);
    for (let round = 0; round < 20; round++) {
      const [a, b] = [pieces(random, 3000, 1000)[0]!, pieces(random, 20_000, staging.length)[0]!];
      const seen = Buffer.alloc(expected.length + a.length);
      // Started together, not awaited one by one: each must see the file as the calls before it left it.
      await Promise.all([file.append([a]), file.sync(), file.append([b]), file.read(seen, 0), file.sync()]);
      assert.deepEqual(seen, Buffer.concat([expected, a]).subarray(0, seen.length));
      expected = Buffer.concat([expected, a, b]);
    }
    await file.close();
    assert.deepEqual(await readFile(path), expected);
  });

  it('refuses a staging buffer that is not a whole number of blocks', async () => {
    await assert.rejects(UnbufferedFile.open(join(dir, 'x.bin'), 'w+', { staging: Buffer.alloc(1000) }), /multiple of 4096/);
  });
});
