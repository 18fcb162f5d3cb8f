/**
 * RetentionTask on a fake purge and fake timers: a first run at start, then one per interval after
 * each run ends; batches until one comes back short; folders removed only inside OUTPUT_DIR; a
 * failed run is logged and retried at the next interval; stop() ends the schedule. And
 * removeOutputFolder's refusals on a real folder tree.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import type { PurgedRequest } from '../../master/db/request-purge.js';
import { removeOutputFolder } from '../../master/maintenance/output-folder-removal.js';
import { RetentionTask, type FinishedRequestPurge } from '../../master/maintenance/retention-task.js';
import { createLogger } from '../../shared/logger.js';

const log = createLogger('test', 'silent');
const base = mkdtempSync(join(tmpdir(), 'tessera-retention-unit-'));
after(() => rmSync(base, { recursive: true, force: true }));
const outputDir = join(base, 'output');
mkdirSync(outputDir);

/** Hands out `rows` in batches, recording each call. */
function fakePurge(rows: PurgedRequest[], fail: () => boolean = () => false): FinishedRequestPurge & { calls: Array<[number, number]> } {
  const calls: Array<[number, number]> = [];
  return {
    calls,
    async purgeFinished(days, limit) {
      calls.push([days, limit]);
      if (fail()) throw new Error('connection refused');
      return rows.splice(0, limit);
    },
  };
}

/** Lets the promise callbacks of a run finish (fake timers leave setImmediate alone). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await turn();
}

describe('RetentionTask', () => {
  it('runs at start and then every interval, until stopped', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const purge = fakePurge([]);
    const task = new RetentionTask({ purge, retentionDays: 30, outputDir, intervalMs: 60_000, log });
    task.start();
    assert.equal(purge.calls.length, 0, 'not during start() itself');
    t.mock.timers.tick(0);
    await settle();
    assert.deepEqual(purge.calls, [[30, 100]]);
    t.mock.timers.tick(59_999);
    await settle();
    assert.equal(purge.calls.length, 1);
    t.mock.timers.tick(1);
    await settle();
    assert.equal(purge.calls.length, 2);
    await task.stop();
    t.mock.timers.tick(600_000);
    await settle();
    assert.equal(purge.calls.length, 2, 'no run after stop()');
  });

  it('keeps its schedule after a failed run', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let failing = true;
    const purge = fakePurge([], () => failing);
    const task = new RetentionTask({ purge, retentionDays: 1, outputDir, intervalMs: 1_000, log });
    task.start();
    t.mock.timers.tick(0);
    await settle();
    failing = false;
    t.mock.timers.tick(1_000);
    await settle();
    assert.equal(purge.calls.length, 2);
    await task.stop();
  });

  it('purges in batches until one is short, removing the folders inside OUTPUT_DIR only', async () => {
    const folders = ['a', 'b', 'c', 'd'].map((name) => join(outputDir, name));
    for (const folder of folders) mkdirSync(join(folder, 'inner'), { recursive: true });
    const outside = join(base, 'elsewhere');
    mkdirSync(outside, { recursive: true });
    const rows: PurgedRequest[] = [
      ...folders.map((folder, i) => ({ id: String(i + 1), outputDir: folder })),
      { id: '5', outputDir: null },
      { id: '6', outputDir: outside },
      { id: '7', outputDir: join(outputDir, 'gone') },
    ];
    const purge = fakePurge(rows);
    const task = new RetentionTask({ purge, retentionDays: 7, outputDir, batchSize: 3, log });
    assert.deepEqual(await task.runOnce(), { requests: 7, foldersRemoved: 4, foldersRefused: 1 });
    assert.deepEqual(purge.calls, [[7, 3], [7, 3], [7, 3]], '3 + 3 + 1: the short batch ends the run');
    for (const folder of folders) assert.equal(existsSync(folder), false);
    assert.equal(existsSync(outside), true);
  });

  it('is off unless retentionDays is positive', () => {
    assert.throws(() => new RetentionTask({ purge: fakePurge([]), retentionDays: 0, outputDir, log }), RangeError);
  });
});

describe('removeOutputFolder', () => {
  it('removes a folder inside OUTPUT_DIR, and says when there is none', async () => {
    const folder = join(outputDir, '42');
    mkdirSync(join(folder, 'deep'), { recursive: true });
    assert.deepEqual(await removeOutputFolder(folder, outputDir), { outcome: 'removed' });
    assert.equal(existsSync(folder), false);
    assert.deepEqual(await removeOutputFolder(folder, outputDir), { outcome: 'absent' });
  });

  it('refuses OUTPUT_DIR itself, anything outside it, ../ escapes, links out of it and relative paths', async () => {
    const outside = join(base, 'precious');
    mkdirSync(outside, { recursive: true });
    const link = join(outputDir, 'link');
    symlinkSync(outside, link);
    const refused = async (folder: string, reason: RegExp): Promise<void> => {
      const removal = await removeOutputFolder(folder, outputDir);
      assert.equal(removal.outcome, 'refused', folder);
      assert.match(removal.outcome === 'refused' ? removal.reason : '', reason);
    };
    await refused(outputDir, /OUTPUT_DIR itself/);
    await refused(`${outputDir}/`, /OUTPUT_DIR itself/);
    await refused(outside, /outside OUTPUT_DIR/);
    await refused(join(outputDir, '..', 'precious'), /outside OUTPUT_DIR/);
    await refused(link, /outside OUTPUT_DIR .* once resolved to/);
    await refused('output/42', /not an absolute path/);
    await refused('/', /outside OUTPUT_DIR/);
    assert.equal(existsSync(outside), true);
    assert.equal(existsSync(link), true);
  });
});
