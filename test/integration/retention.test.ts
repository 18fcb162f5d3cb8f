/**
 * Retention against the real PostgreSQL, with rows backdated by SQL (no waiting for days, no
 * sleeps): a run deletes the completed and failed requests finished longer ago than RETENTION_DAYS
 * and their output folders inside OUTPUT_DIR, never a pending or running row, never a folder
 * outside OUTPUT_DIR; two masters purging at once delete each row and folder exactly once; and a
 * master started with RETENTION_DAYS purges on its own.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { connectDatabase, type Database } from '../../master/db/database.js';
import { migrate } from '../../master/db/migrate.js';
import { PostgresRequestPurge } from '../../master/db/request-purge.js';
import { PostgresRequestStore } from '../../master/db/request-store.js';
import { RetentionTask } from '../../master/maintenance/retention-task.js';
import { createLogger } from '../../shared/logger.js';
import { startTestMaster } from '../support/cluster.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const log = createLogger('test', 'silent');

describe('retention on PostgreSQL', () => {
  let database: TestDatabase;
  let db: Database;
  let store: PostgresRequestStore;
  let base: string;
  let outputDir: string;

  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'tessera-retention-'));
    outputDir = join(base, 'output');
    await mkdir(outputDir);
    database = await createTestDatabase();
    db = connectDatabase({ url: database.url, maxConnections: 4, notifications: false });
    await migrate(db);
    store = new PostgresRequestStore(db);
  });
  afterEach(async () => {
    await db.close();
    await database.drop();
    await rm(base, { recursive: true, force: true });
  });

  /**
   * A request taken to `status` by a master, finished `daysAgo` days ago (pending and running rows:
   * created and heart-beaten then). It claims the lowest pending id: make pending ones last.
   */
  async function request(status: 'pending' | 'running' | 'completed' | 'failed', daysAgo: number, folder?: string): Promise<string> {
    const id = await store.insert({ bands: { red: '/in/B04.tif', nir: '/in/B08.tif' }, indices: ['ndvi'] });
    if (status !== 'pending') {
      const row = await store.claimNext('m1', 1e12); // never takes over a backdated running row
      assert.equal(row?.id, id);
      const claim = { id, masterId: 'm1', attempt: row.attempts };
      if (status === 'completed') {
        assert.ok(await store.complete(claim, { outputDir: folder ?? join(outputDir, id), outputs: {}, workerTiles: {}, timings: {}, tilesDone: 1 }));
      }
      if (status === 'failed') assert.ok(await store.fail(claim, 'no such file'));
    }
    if (folder !== undefined) {
      await mkdir(folder, { recursive: true });
      await writeFile(join(folder, 'ndvi.png'), 'png');
    }
    // Backdated as if it had happened then (finished_at stays NULL for pending and running rows).
    await db.query(
      `UPDATE mosaic_requests SET created_at = now() - $2::double precision * interval '1 day',
              finished_at = CASE WHEN finished_at IS NULL THEN NULL ELSE now() - $2::double precision * interval '1 day' END,
              heartbeat_at = CASE WHEN heartbeat_at IS NULL THEN NULL ELSE now() - $2::double precision * interval '1 day' END
        WHERE id = $1`,
      [id, daysAgo],
    );
    return id;
  }

  const ids = async (): Promise<string[]> => (await db.query<{ id: string }>('SELECT id::text AS id FROM mosaic_requests ORDER BY id')).rows.map((r) => r.id);

  test('purges old completed and failed requests and their folders, and nothing else', async () => {
    const folder = (name: string): string => join(outputDir, name);
    const oldCompleted = await request('completed', 40, folder('old-completed'));
    const oldFailed = await request('failed', 31);
    const recent = await request('completed', 29, folder('recent'));
    const running = await request('running', 400);
    const outside = join(base, 'elsewhere', 'keep-me');
    const pointsOutside = await request('completed', 40, outside);
    const pointsAtRoot = await request('completed', 40);
    await db.query('UPDATE mosaic_requests SET output_dir = $2 WHERE id = $1', [pointsAtRoot, outputDir]);
    const alreadyGone = await request('completed', 40);
    const pending = await request('pending', 400); // last: request() claims the lowest pending id

    const task = new RetentionTask({ purge: new PostgresRequestPurge(db), retentionDays: 30, outputDir, batchSize: 2, log });
    const run = await task.runOnce();

    assert.deepEqual(run, { requests: 5, foldersRemoved: 1, foldersRefused: 2 });
    assert.deepEqual(await ids(), [recent, running, pending]);
    assert.equal(existsSync(folder('old-completed')), false);
    assert.equal(existsSync(folder('recent')), true);
    assert.equal(existsSync(outside), true, 'a folder outside OUTPUT_DIR is never removed');
    assert.equal(existsSync(outputDir), true, 'nor OUTPUT_DIR itself');
    for (const id of [oldCompleted, oldFailed, pointsOutside, alreadyGone]) assert.equal(await store.get(id), null);
    assert.deepEqual(await task.runOnce(), { requests: 0, foldersRemoved: 0, foldersRefused: 0 }, 'a second run finds nothing');
  });

  test('two masters purging at once delete each request and folder exactly once', async () => {
    const count = 23;
    for (let i = 0; i < count; i++) await request(i % 3 === 0 ? 'failed' : 'completed', 10 + i, join(outputDir, `r${i}`));
    const kept = await request('completed', 1, join(outputDir, 'kept'));
    const other = connectDatabase({ url: database.url, maxConnections: 2, notifications: false });
    try {
      const tasks = [db, other].map((queryable) => new RetentionTask({ purge: new PostgresRequestPurge(queryable), retentionDays: 5, outputDir, batchSize: 3, log }));
      const runs = await Promise.all(tasks.map((task) => task.runOnce()));
      assert.equal(runs[0]!.requests + runs[1]!.requests, count);
      assert.equal(runs[0]!.foldersRemoved + runs[1]!.foldersRemoved, 15, 'every completed request\'s folder (15 of the 23), once');
      assert.equal(runs[0]!.foldersRefused + runs[1]!.foldersRefused, 0);
      assert.deepEqual(await ids(), [kept]);
    } finally {
      await other.close();
    }
  });

  test('a master with RETENTION_DAYS purges on its own at start; pending requests stay', async () => {
    const old = await request('completed', 100, join(outputDir, 'old'));
    const pending = await request('pending', 100);
    const master = await startTestMaster({ databaseUrl: database.url, outputDir: join(base, 'master-output'), retentionDays: 30, pollIntervalMs: 600_000 });
    try {
      // The folder of `old` lies outside this master's OUTPUT_DIR: the row goes, the folder stays.
      const deadline = Date.now() + 20_000;
      while ((await store.get(old)) !== null) {
        assert.ok(Date.now() < deadline, 'the master purged nothing within 20 s of starting');
        await turn();
      }
      assert.equal(existsSync(join(outputDir, 'old')), true);
      assert.notEqual(await store.get(pending), null);
    } finally {
      await master.stop({ graceful: false, timeoutMs: 2_000 });
    }
  });
});
