/**
 * The request queue against a real PostgreSQL (a fresh database per test): migrations, claiming under
 * contention, stale-lease recovery, fencing of stale masters, NOTIFY wake-ups and the listener's reconnect.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { test, type TestContext } from 'node:test';
import { connectDatabase, type Database } from '../../master/db/database.js';
import { defaultMigrationsDir, migrate } from '../../master/db/migrate.js';
import {
  REQUEST_FINISHED_CHANNEL,
  REQUEST_INSERTED_CHANNEL,
  RequestStore,
  type MosaicRequestRow,
} from '../../master/db/request-store.js';
import { createTestDatabase } from '../support/test-database.js';

const BANDS = { red: '/data/input/B04.tif', nir: 'samples/L7_ETMs.tif#4' };
const STALE_MS = 60_000;

interface Setup {
  url: string;
  db: Database;
  store: RequestStore;
  errors: Error[];
  /** Another connected Database on the same test database (closed with the test). */
  connect(options?: { notifications?: boolean; maxConnections?: number }): Database;
}

async function setup(t: TestContext, options: { migrate?: boolean } = {}): Promise<Setup> {
  const testDb = await createTestDatabase();
  const errors: Error[] = [];
  const opened: Database[] = [];
  const connect = ({ notifications = true, maxConnections = 4 } = {}): Database => {
    const db = connectDatabase({ url: testDb.url, maxConnections, notifications, onError: (e) => errors.push(e) });
    opened.push(db);
    return db;
  };
  t.after(async () => {
    for (const db of opened) await db.close();
    await testDb.drop();
  });
  const db = connect();
  if (options.migrate !== false) await migrate(db);
  return { url: testDb.url, db, store: new RequestStore(db), errors, connect };
}

/** Resolves with the first payload on `channel` and how long after `trigger` it came; rejects after `timeoutMs`. */
async function notifiedAfter(
  db: Database,
  channel: string,
  trigger: () => Promise<unknown>,
  timeoutMs = 1000,
): Promise<{ payload: string; ms: number }> {
  let resolveNotified: (payload: string) => void = () => {};
  const notified = new Promise<string>((resolve) => (resolveNotified = resolve));
  const unlisten = await db.listen(channel, (payload) => resolveNotified(payload));
  try {
    const started = performance.now();
    await trigger();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no NOTIFY on ${channel} within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const payload = await Promise.race([notified, timeout]);
      return { payload, ms: performance.now() - started };
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await unlisten();
  }
}

async function row(store: RequestStore, id: string): Promise<MosaicRequestRow> {
  const found = await store.get(id);
  assert.ok(found, `request ${id} exists`);
  return found;
}

test('migrate applies each file once, also when run twice or by two masters at once', async (t) => {
  const { db, connect } = await setup(t, { migrate: false });
  const other = connect();
  const files = (await readdir(defaultMigrationsDir())).filter((name) => name.endsWith('.sql')).sort();
  assert.ok(files.includes('001_mosaic_requests.sql'));
  const [first, second] = await Promise.all([migrate(db), migrate(other)]);
  // Between the two masters, every file is applied exactly once.
  assert.deepEqual([...first, ...second].sort(), files);
  assert.deepEqual(await migrate(db), []);
  const { rows } = await db.query<{ name: string }>('SELECT name FROM tessera_migrations ORDER BY name');
  assert.deepEqual(
    rows.map((r) => r.name),
    files,
  );
  const table = await db.query(`SELECT obj_description('mosaic_requests'::regclass) AS comment`);
  assert.match(String(table.rows[0]?.comment), /Mosaic requests/);
});

test('insert applies the column defaults and the status CHECK rejects unknown statuses', async (t) => {
  const { db, store } = await setup(t);
  const id = await store.insert({ bands: BANDS, indices: ['ndvi'] });
  assert.match(id, /^[0-9]+$/);
  const inserted = await row(store, id);
  assert.equal(inserted.status, 'pending');
  assert.equal(inserted.source, 'sentinel2');
  assert.deepEqual(inserted.bands, BANDS);
  assert.deepEqual(inserted.indices, ['ndvi']);
  assert.equal(inserted.reflectanceOffset, 0);
  assert.equal(inserted.stripRows, null);
  assert.equal(inserted.attempts, 0);
  assert.ok(inserted.createdAt instanceof Date);

  const custom = await row(
    store,
    await store.insert({ source: 'landsat', bands: {}, indices: ['ndvi', 'evi'], reflectanceOffset: -1000, stripRows: 512 }),
  );
  // Unknown source/index values are accepted: the master fails them with a readable reason.
  assert.equal(custom.source, 'landsat');
  assert.deepEqual(custom.indices, ['ndvi', 'evi']);
  assert.equal(custom.reflectanceOffset, -1000);
  assert.equal(custom.stripRows, 512);

  await assert.rejects(db.query(`UPDATE mosaic_requests SET status = 'paused' WHERE id = $1`, [id]), /status_check/);
  assert.equal(await store.get('not-an-id'), null);
  assert.equal(await store.get('987654321'), null);
});

test('claimNext claims the oldest pending request and marks it running', async (t) => {
  const { store } = await setup(t);
  assert.equal(await store.claimNext('master-a', STALE_MS), null);
  const first = await store.insert({ bands: BANDS, indices: ['ndvi'] });
  const second = await store.insert({ bands: BANDS, indices: ['ndsi'] });

  const claimed = await store.claimNext('master-a', STALE_MS);
  assert.ok(claimed);
  assert.equal(claimed.id, first);
  assert.equal(claimed.status, 'running');
  assert.equal(claimed.claimedBy, 'master-a');
  assert.equal(claimed.attempts, 1);
  assert.equal(claimed.tilesDone, 0);
  assert.ok(claimed.startedAt instanceof Date);
  assert.ok(claimed.heartbeatAt instanceof Date);
  assert.deepEqual(await row(store, first), claimed);

  assert.equal((await store.claimNext('master-b', STALE_MS))?.id, second);
  assert.equal(await store.claimNext('master-b', STALE_MS), null, 'a fresh running request is not reclaimed');
});

test('two masters racing on separate pools never claim the same request', async (t) => {
  const { db, connect } = await setup(t);
  const total = 300;
  await db.query(
    `INSERT INTO mosaic_requests (bands, indices) SELECT $1::jsonb, '{ndvi}' FROM generate_series(1, $2::int)`,
    [JSON.stringify(BANDS), total],
  );
  const masters = [
    { id: 'master-a', store: new RequestStore(connect({ maxConnections: 8, notifications: false })) },
    { id: 'master-b', store: new RequestStore(connect({ maxConnections: 8, notifications: false })) },
  ];
  const claims = new Map<string, string[]>();
  const drain = async (master: (typeof masters)[number]): Promise<void> => {
    for (;;) {
      const claimed = await master.store.claimNext(master.id, STALE_MS);
      if (!claimed) return;
      claims.set(claimed.id, [...(claims.get(claimed.id) ?? []), master.id]);
    }
  };
  // Eight concurrent claim loops per master, all racing over the same rows.
  await Promise.all(masters.flatMap((master) => Array.from({ length: 8 }, () => drain(master))));

  const doubles = [...claims].filter(([, by]) => by.length > 1);
  assert.deepEqual(doubles, [], 'no request claimed twice');
  assert.equal(claims.size, total);
  const perMaster = masters.map((m) => [...claims.values()].filter((by) => by[0] === m.id).length);
  assert.ok(perMaster.every((n) => n > 0), `both masters claimed some (${perMaster.join(' / ')})`);
  const { rows } = await db.query<{ running: string; once: string }>(
    `SELECT count(*) FILTER (WHERE status = 'running') AS running, count(*) FILTER (WHERE attempts = 1) AS once FROM mosaic_requests`,
  );
  assert.deepEqual(rows[0], { running: String(total), once: String(total) });
});

test('a running request whose heartbeat is stale is reclaimed; a fresh one is not', async (t) => {
  const { db, store } = await setup(t);
  const id = await store.insert({ bands: BANDS, indices: ['ndvi'] });
  await store.claimNext('master-a', STALE_MS);
  assert.equal(await store.setTilesTotal(id, 'master-a', 12), true);
  assert.equal(await store.recordProgress(id, 'master-a', 5), true);
  assert.equal(await store.claimNext('master-b', STALE_MS), null);

  // master-a died: its last heartbeat was two minutes ago.
  await db.query(`UPDATE mosaic_requests SET heartbeat_at = now() - interval '2 minutes' WHERE id = $1`, [id]);
  assert.equal(await store.claimNext('master-b', 5 * 60_000), null, 'not stale under a 5-minute lease');
  const reclaimed = await store.claimNext('master-b', STALE_MS);
  assert.ok(reclaimed);
  assert.equal(reclaimed.id, id);
  assert.equal(reclaimed.claimedBy, 'master-b');
  assert.equal(reclaimed.attempts, 2);
  assert.equal(reclaimed.tilesDone, 0, 'progress restarts');
  assert.equal(reclaimed.tilesTotal, null);
  assert.ok(reclaimed.heartbeatAt && Date.now() - reclaimed.heartbeatAt.getTime() < 10_000, 'fresh heartbeat');
});

test('a stale master changes nothing once its request was reclaimed', async (t) => {
  const { db, store } = await setup(t);
  const id = await store.insert({ bands: BANDS, indices: ['ndvi'] });
  await store.claimNext('master-a', STALE_MS);
  await db.query(`UPDATE mosaic_requests SET heartbeat_at = now() - interval '1 hour' WHERE id = $1`, [id]);
  await store.claimNext('master-b', STALE_MS);
  assert.equal(await store.recordProgress(id, 'master-b', 3), true);
  const before = await row(store, id);

  const result = { outputDir: '/out/a', outputs: [], workerTiles: { w: 1 }, timings: { total: 1 }, tilesDone: 1 };
  assert.equal(await store.heartbeat(id, 'master-a'), false);
  assert.equal(await store.setTilesTotal(id, 'master-a', 99), false);
  assert.equal(await store.recordProgress(id, 'master-a', 99), false);
  assert.equal(await store.complete(id, 'master-a', result), false);
  assert.equal(await store.fail(id, 'master-a', 'late failure'), false);
  assert.equal(await store.release(id, 'master-a'), false);
  assert.deepEqual(await row(store, id), before, 'the row is untouched');

  // And nobody changes a finished request, not even its own master.
  assert.equal(await store.fail(id, 'master-b', 'boom'), true);
  const failed = await row(store, id);
  assert.equal(await store.complete(id, 'master-b', result), false);
  assert.equal(await store.heartbeat(id, 'master-b'), false);
  assert.deepEqual(await row(store, id), failed);
  assert.equal(await store.heartbeat('nonsense', 'master-b'), false);
});

test('complete, fail and release record the outcome on the row', async (t) => {
  const { db, store } = await setup(t);
  const [a, b, c] = [
    await store.insert({ bands: BANDS, indices: ['ndvi'] }),
    await store.insert({ bands: BANDS, indices: ['ndvi'] }),
    await store.insert({ bands: BANDS, indices: ['ndvi'] }),
  ];
  for (let i = 0; i < 3; i += 1) await store.claimNext('master-a', STALE_MS);
  // Backdate updated_at so the trigger's refresh is visible.
  await db.query(`UPDATE mosaic_requests SET updated_at = now() - interval '1 day'`);

  const outputs = [{ index: 'ndvi', path: '/out/ndvi.tif', stats: { min: -0.5, max: 0.9 } }];
  const done = await store.complete(a, 'master-a', {
    outputDir: '/out/1',
    outputs,
    workerTiles: { 'worker-1': 7, 'worker-2': 5 },
    timings: { planMs: 3, computeMs: 120.5 },
    tilesDone: 12,
  });
  assert.equal(done, true);
  const completed = await row(store, a);
  assert.equal(completed.status, 'completed');
  assert.equal(completed.outputDir, '/out/1');
  assert.deepEqual(completed.outputs, outputs);
  assert.deepEqual(completed.workerTiles, { 'worker-1': 7, 'worker-2': 5 });
  assert.deepEqual(completed.timings, { planMs: 3, computeMs: 120.5 });
  assert.equal(completed.tilesDone, 12);
  assert.equal(completed.claimedBy, 'master-a');
  assert.ok(completed.finishedAt instanceof Date);
  assert.ok(Date.now() - completed.updatedAt.getTime() < 60_000, 'updated_at refreshed by the trigger');

  assert.equal(await store.fail(b, 'master-a', 'band "nir" is missing'), true);
  const failed = await row(store, b);
  assert.equal(failed.status, 'failed');
  assert.equal(failed.error, 'band "nir" is missing');
  assert.ok(failed.finishedAt instanceof Date);

  assert.equal(await store.release(c, 'master-a'), true);
  const released = await row(store, c);
  assert.equal(released.status, 'pending');
  assert.equal(released.claimedBy, null);
  assert.equal(released.heartbeatAt, null);
  const again = await store.claimNext('master-b', STALE_MS);
  assert.equal(again?.id, c);
  assert.equal(again?.attempts, 2);

  assert.deepEqual(
    (await store.list()).map((r) => r.id),
    [c, b, a],
    'newest first',
  );
  assert.deepEqual(
    (await store.list(2)).map((r) => r.id),
    [c, b],
  );
});

test('NOTIFY wakes listeners on insert (well within 1 s), release and completion', async (t) => {
  const { db, store, connect } = await setup(t);
  const inserter = new RequestStore(connect({ notifications: false }));
  let id = '';
  const inserted = await notifiedAfter(db, REQUEST_INSERTED_CHANNEL, async () => {
    id = await inserter.insert({ bands: BANDS, indices: ['ndvi'] });
  });
  assert.equal(inserted.payload, id);
  assert.ok(inserted.ms < 500, `insert notification took ${inserted.ms.toFixed(1)} ms`);
  t.diagnostic(`insert → notification: ${inserted.ms.toFixed(1)} ms`);

  await store.claimNext('master-a', STALE_MS);
  const released = await notifiedAfter(db, REQUEST_INSERTED_CHANNEL, () => store.release(id, 'master-a'));
  assert.equal(released.payload, id);

  await store.claimNext('master-a', STALE_MS);
  const finished = await notifiedAfter(db, REQUEST_FINISHED_CHANNEL, () =>
    store.complete(id, 'master-a', { outputDir: '/o', outputs: {}, workerTiles: {}, timings: {}, tilesDone: 0 }),
  );
  assert.deepEqual(JSON.parse(finished.payload), { id, status: 'completed' });

  const other = await inserter.insert({ bands: BANDS, indices: ['ndvi'] });
  await store.claimNext('master-a', STALE_MS);
  // A heartbeat is not a finish: the first finished notification must be the failure.
  const failedNote = await notifiedAfter(db, REQUEST_FINISHED_CHANNEL, async () => {
    await store.heartbeat(other, 'master-a');
    await store.recordProgress(other, 'master-a', 1);
    await store.fail(other, 'master-a', 'nope');
  });
  assert.deepEqual(JSON.parse(failedNote.payload), { id: other, status: 'failed' });
});

test('the LISTEN connection reconnects and re-LISTENs after it is killed', async (t) => {
  const { db, store, errors, connect } = await setup(t);
  const payloads: string[] = [];
  const unlisten = await db.listen(REQUEST_INSERTED_CHANNEL, (payload) => payloads.push(payload));
  const admin = connect({ notifications: false });
  const killed = await admin.query<{ pid: number }>(
    `SELECT pg_terminate_backend(pid), pid FROM pg_stat_activity
      WHERE application_name = 'tessera-listener' AND datname = current_database()`,
  );
  assert.equal(killed.rowCount, 1, 'found the listener connection');

  // Keep inserting until one is heard: the first inserts may land while it is reconnecting.
  const started = performance.now();
  let heard = false;
  while (!heard && performance.now() - started < 5000) {
    const id = await store.insert({ bands: BANDS, indices: ['ndvi'] });
    await new Promise((resolve) => setTimeout(resolve, 50));
    heard = payloads.includes(id);
  }
  assert.ok(heard, 'a notification arrived after the reconnect');
  assert.ok(errors.length > 0, 'the dropped connection was reported to onError');
  t.diagnostic(`heard again ${(performance.now() - started).toFixed(0)} ms after the kill`);
  await unlisten();
});

test('idle pool connections that die are reported, not thrown', async (t) => {
  const { db, errors, connect } = await setup(t);
  await Promise.all([db.query('SELECT pg_sleep(0.05)'), db.query('SELECT pg_sleep(0.05)')]); // two idle connections
  const admin = connect({ notifications: false });
  const killed = await admin.query(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name <> 'tessera-listener'
        AND state = 'idle' AND backend_type = 'client backend'`,
  );
  assert.ok(killed.rowCount >= 2, `killed ${killed.rowCount} idle connections`);
  const deadline = Date.now() + 2000;
  while (errors.length < killed.rowCount && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(errors.length, killed.rowCount, 'onError heard about each');
  assert.deepEqual((await db.query('SELECT 1 AS one')).rows, [{ one: 1 }], 'the pool still works');
});

test('with notifications off, listen is a no-op and a transaction rolls back on error', async (t) => {
  const { connect } = await setup(t);
  const db = connect({ notifications: false });
  assert.equal(db.notifications, false);
  const heard: string[] = [];
  const unlisten = await db.listen(REQUEST_INSERTED_CHANNEL, (payload) => heard.push(payload));
  await new RequestStore(db).insert({ bands: BANDS, indices: ['ndvi'] });
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(heard, []);
  await unlisten();

  await assert.rejects(
    db.transaction(async (tx) => {
      await tx.query(`INSERT INTO mosaic_requests (bands) VALUES ('{}')`);
      throw new Error('changed my mind');
    }),
    /changed my mind/,
  );
  assert.deepEqual((await db.query('SELECT count(*)::int AS n FROM mosaic_requests')).rows, [{ n: 1 }]);
});
