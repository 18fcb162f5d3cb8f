/**
 * Result files on both sides, on real files: the worker writes its PNGs into the master's folder
 * only when the token there is the task's; the master reads exactly the files it named for that
 * task and attempt, refuses anything else as the worker's fault, and removes what it read.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { RejectedResultError } from '../../master/dispatch/tile-lease.js';
import { ResultFolder, RESULT_TOKEN_FILE } from '../../master/output/result-folder.js';
import type { IndexTile, SubmitResultRequest__Output, TileTask__Output } from '../../shared/proto/tile-service.js';
import { ResultFiles } from '../../worker/result-files.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-result-files-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const TASK_ID = 'req-1/2/7';
const task = (fields: Partial<TileTask__Output>): TileTask__Output => ({ taskId: TASK_ID, attempt: 3, width: 100, height: 10, ...fields }) as TileTask__Output;
const tiles = (): IndexTile[] => [
  { index: 'ndvi', png: Buffer.from('ndvi strip bytes') },
  { index: 'ndsi', png: Buffer.from('ndsi strip, longer bytes') },
];
/** A decoded result as the master receives it from the worker's tiles. */
const received = (sent: IndexTile[], attempt = 3): SubmitResultRequest__Output =>
  ({
    workerId: 'w',
    taskId: TASK_ID,
    attempt,
    tiles: sent.map((tile) => ({ index: tile.index, png: Buffer.from(tile.png as Uint8Array), pngInFile: tile.pngInFile ?? false, pngSize: Number(tile.pngSize ?? 0), stats: null, preview: Buffer.alloc(0), cog: [] })),
    timings: null,
    error: '',
  }) as SubmitResultRequest__Output;

describe('result files', () => {
  it('round trip: the worker leaves the PNGs in the folder, the master reads them back byte for byte and removes them', async () => {
    const folder = await ResultFolder.create(join(dir, 'round-trip'));
    const sent = tiles();
    const originals = sent.map((tile) => Buffer.from(tile.png as Uint8Array));
    assert.equal(await new ResultFiles().leave(task(folder.fields(TASK_ID, 3)), sent), true);
    assert.deepEqual(sent.map((tile) => [tile.pngInFile, (tile.png as Buffer).length, tile.pngSize]), originals.map((png) => [true, 0, png.length]));
    const result = received(sent);
    await folder.collect(result, TASK_ID, { width: 100, height: 10 });
    assert.deepEqual(result.tiles.map((tile) => tile.png), originals);
    assert.deepEqual(await readdir(folder.path), [RESULT_TOKEN_FILE], 'the files read are removed');
  });

  it('a worker that finds another token, or none, sends its bytes (the folder is not the master\'s)', async () => {
    const folder = await ResultFolder.create(join(dir, 'theirs'));
    const fields = folder.fields(TASK_ID, 3);
    await writeFile(join(folder.path, RESULT_TOKEN_FILE), 'a folder of the same name elsewhere');
    const sent = tiles();
    assert.equal(await new ResultFiles().leave(task(fields), sent), false);
    assert.deepEqual(sent, tiles(), 'the result is as it was');
    const missing = task({ ...fields, resultFolder: join(dir, 'no-such-folder') });
    assert.equal(await new ResultFiles().leave(missing, sent), false);
    assert.equal(await new ResultFiles().leave(task({}), sent), false, 'no folder offered');
    assert.deepEqual(await readdir(folder.path), [RESULT_TOKEN_FILE], 'nothing written');
  });

  it('the master refuses, as the worker\'s fault, a file that is missing, of another size or too big, and an index that would leave the folder', async () => {
    const folder = await ResultFolder.create(join(dir, 'refusals'));
    const outside = join(dir, 'outside.png');
    await writeFile(outside, 'not for the master to read or remove');
    const claim = (tile: Partial<SubmitResultRequest__Output['tiles'][number]>, attempt = 3): SubmitResultRequest__Output =>
      received([{ index: 'ndvi', png: Buffer.alloc(0), pngInFile: true, pngSize: 5, ...tile } as IndexTile], attempt);
    const refused = (result: SubmitResultRequest__Output, pattern: RegExp) =>
      assert.rejects(folder.collect(result, TASK_ID, { width: 100, height: 10 }), (error: unknown) => error instanceof RejectedResultError && pattern.test(error.message));
    await refused(claim({}), /ENOENT/);
    await writeFile(join(folder.path, `${folder.fields(TASK_ID, 3).resultName}.ndvi.png`), 'six b.');
    await refused(claim({}), /6 bytes, the worker reported 5/);
    await writeFile(join(folder.path, `${folder.fields(TASK_ID, 3).resultName}.ndvi.png`), 'five!');
    await refused(claim({}, 4), /ENOENT/); // another attempt's name: not this file
    await refused(claim({ pngSize: 10 ** 9 }), /cannot exceed/);
    await refused(claim({ index: '../outside' }), /cannot name a result file/);
    assert.equal(await readFile(outside, 'utf8'), 'not for the master to read or remove');
  });

  it('reads into buffers reused once a result is released (written), never while it is not', async () => {
    const folder = await ResultFolder.create(join(dir, 'reuse'));
    // Larger than half of Buffer.poolSize, so that each buffer has an ArrayBuffer of its own.
    const big = (): IndexTile[] => [
      { index: 'ndvi', png: Buffer.alloc(9000, 1) },
      { index: 'ndsi', png: Buffer.alloc(12_000, 2) },
    ];
    const collected = async (attempt: number): Promise<SubmitResultRequest__Output> => {
      const sent = big();
      assert.equal(await new ResultFiles().leave(task({ ...folder.fields(TASK_ID, attempt), attempt }), sent), true);
      const result = received(sent, attempt);
      await folder.collect(result, TASK_ID, { width: 100, height: 10 });
      return result;
    };
    const first = await collected(1);
    const second = await collected(2);
    assert.notEqual(second.tiles[0]!.png.buffer, first.tiles[0]!.png.buffer, 'first not released: its memory is not handed out again');
    assert.deepEqual(first.tiles[0]!.png, Buffer.alloc(9000, 1));
    folder.release(first);
    const third = await collected(3);
    const reused = new Set(first.tiles.map((tile) => tile.png.buffer));
    assert.ok(third.tiles.every((tile) => reused.has(tile.png.buffer)), 'released: the next files are read into its buffers');
    assert.deepEqual(third.tiles.map((tile) => tile.png), [Buffer.alloc(9000, 1), Buffer.alloc(12_000, 2)]);
  });

  it('each task and attempt has its own file name', async () => {
    const folder = await ResultFolder.create(join(dir, 'names'));
    const names = [folder.fields('r/1/0', 1), folder.fields('r/1/0', 2), folder.fields('r/1/0/v1', 1), folder.fields('r/1/1', 1)].map((fields) => fields.resultName);
    assert.equal(new Set(names).size, names.length);
    assert.ok(names.every((name) => name && !name.includes('/')));
  });
});
