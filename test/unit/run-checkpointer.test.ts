/** RunCheckpointer.dropStrips: no checkpoint is left covering bytes the writer cuts off, and no save runs meanwhile. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { WriterCheckpoint } from '../../master/output/strip-mosaic-writer.js';
import { RunCheckpointer } from '../../master/run-checkpointer.js';
import { RunTally } from '../../master/run-tally.js';
import { createLogger } from '../../shared/logger.js';

const STATE = { bytes: 100, adler: 1, filteredBytes: 10 };

/** A writer whose files have `written` strips; dropStrips notes whether the checkpoint was still there. */
function fakeWriter(folder: string) {
  const writer = {
    written: 0,
    checkpointed: 0,
    drops: [] as Array<{ strips: readonly number[]; checkpointThere: boolean }>,
    stagingFolder: folder,
    async checkpoint(): Promise<WriterCheckpoint | undefined> {
      if (writer.written <= writer.checkpointed) return undefined;
      writer.checkpointed = writer.written;
      return { strips: writer.written, lanes: { ndvi: { grey: STATE, colour: STATE } } };
    },
    async dropStrips(strips: readonly number[]): Promise<void> {
      writer.drops.push({ strips, checkpointThere: existsSync(join(folder, 'checkpoint.json')) });
      writer.written = Math.min(writer.written, ...strips);
      writer.checkpointed = Math.min(writer.checkpointed, ...strips);
    },
  };
  return writer;
}

test('dropping strips under the saved checkpoint removes it first; above it, keeps it; saves resume after', async (t) => {
  const folder = await mkdtemp(join(tmpdir(), 'tessera-checkpointer-'));
  t.after(() => rm(folder, { recursive: true, force: true }));
  const writer = fakeWriter(folder);
  const tally = new RunTally();
  for (let strip = 0; strip < 6; strip++) tally.addResult(strip, { workerId: 'w', taskId: '', attempt: 1, tiles: [], timings: null, error: '' });
  const checkpointer = new RunCheckpointer({ writer, tally, fingerprint: 'f', everyMs: 0, log: createLogger('test', 'silent') });

  writer.written = 5;
  await checkpointer.flush(); // a save now (flush closes the checkpointer: a new one below)
  assert.equal(checkpointer.savedStrips, 5);

  const live = new RunCheckpointer({ writer, tally, fingerprint: 'f', everyMs: 0, log: createLogger('test', 'silent') });
  writer.written = 6;
  live.poke();
  await live.dropStrips([7]);
  assert.deepEqual(writer.drops.at(-1), { strips: [7], checkpointThere: true }, 'a checkpoint below the strips dropped stays');
  assert.equal(JSON.parse(await readFile(join(folder, 'checkpoint.json'), 'utf8')).writer.strips, 6, 'the save under way ended before the drop');

  await live.dropStrips([4, 2]);
  assert.deepEqual(writer.drops.at(-1), { strips: [4, 2], checkpointThere: false }, 'removed before the files were cut');
  assert.equal(live.savedStrips, 0);
  writer.written = 3;
  await live.flush();
  assert.equal(JSON.parse(await readFile(join(folder, 'checkpoint.json'), 'utf8')).writer.strips, 3, 'saving goes on from the new place');
});
