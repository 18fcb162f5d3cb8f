/**
 * The request queue against a real PostgreSQL (a fresh database per test): the RequestStore contract
 * (test/support/request-store-contract.ts, shared with the in-memory store), and what only PostgreSQL
 * has: migrations, the status CHECK, claiming under contention from separate pools, the NOTIFY
 * channels' payloads, and the listener's reconnect.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { test, type TestContext } from 'node:test';
import { connectDatabase, type Database } from '../../master/db/database.js';
import { defaultMigrationsDir, migrate } from '../../master/db/migrate.js';
import {
  REQUEST_FINISHED_CHANNEL,
  REQUEST_INSERTED_CHANNEL,
  PostgresRequestStore,
} from '../../master/db/request-store.js';
import { requestStoreContract } from '../support/request-store-contract.js';
import { createTestDatabase } from '../support/test-database.js';
import { claimBy } from '../support/request-store-contract.js';

const BANDS = { red: '/data/input/B04.tif', nir: 'samples/L7_ETMs.tif#4' };
const STALE_MS = 60_000;

interface Setup {
  url: string;
  db: Database;
  store: PostgresRequestStore;
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
  return { url: testDb.url, db, store: new PostgresRequestStore(db), errors, connect };
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

/** Every timestamp column, `ms` further in the past; the updated_at trigger is held off meanwhile. */
async function passTime(db: Database, ms: number): Promise<void> {
  const shift = (column: string): string => `${column} = ${column} - $1::double precision * interval '1 millisecond'`;
  const columns = ['created_at', 'started_at', 'finished_at', 'heartbeat_at', 'updated_at'];
  await db.transaction(async (tx) => {
    await tx.query('ALTER TABLE mosaic_requests DISABLE TRIGGER mosaic_requests_touch_updated_at');
    await tx.query(`UPDATE mosaic_requests SET ${columns.map(shift).join(', ')}`, [ms]);
    await tx.query('ALTER TABLE mosaic_requests ENABLE TRIGGER mosaic_requests_touch_updated_at');
  });
}

requestStoreContract('PostgresRequestStore', async (t) => {
  const { db, store } = await setup(t);
  return { store, passTime: (ms) => passTime(db, ms), now: () => Date.now() };
});

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

test('a row inserted with plain SQL gets the column defaults; the status CHECK rejects unknown statuses', async (t) => {
  const { db, store } = await setup(t);
  // As psql would: only the bands (the store always names the indices).
  const { rows } = await db.query<{ id: string }>(`INSERT INTO mosaic_requests (bands) VALUES ($1) RETURNING id::text AS id`, [JSON.stringify(BANDS)]);
  const inserted = await store.get(rows[0]!.id);
  assert.ok(inserted);
  assert.deepEqual(inserted.indices, ['ndvi']);
  assert.equal(inserted.source, 'sentinel2');
  assert.deepEqual(inserted.bands, BANDS);
  assert.equal(inserted.reflectanceOffset, null, 'not said: the master decides (0, or what a STAC item implies)');
  assert.equal(inserted.status, 'pending');
  assert.ok(inserted.createdAt instanceof Date);

  await assert.rejects(db.query(`UPDATE mosaic_requests SET status = 'paused' WHERE id = $1`, [inserted.id]), /status_check/);
});

test('two masters racing on separate pools never claim the same request', async (t) => {
  const { db, connect } = await setup(t);
  const total = 300;
  await db.query(
    `INSERT INTO mosaic_requests (bands, indices) SELECT $1::jsonb, '{ndvi}' FROM generate_series(1, $2::int)`,
    [JSON.stringify(BANDS), total],
  );
  const masters = [
    { id: 'master-a', store: new PostgresRequestStore(connect({ maxConnections: 8, notifications: false })) },
    { id: 'master-b', store: new PostgresRequestStore(connect({ maxConnections: 8, notifications: false })) },
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

test('NOTIFY wakes listeners on insert (well within 1 s), release and completion', async (t) => {
  const { db, store, connect } = await setup(t);
  const inserter = new PostgresRequestStore(connect({ notifications: false }));
  let id = '';
  const inserted = await notifiedAfter(db, REQUEST_INSERTED_CHANNEL, async () => {
    id = await inserter.insert({ bands: BANDS, indices: ['ndvi'] });
  });
  assert.equal(inserted.payload, id);
  assert.ok(inserted.ms < 500, `insert notification took ${inserted.ms.toFixed(1)} ms`);
  t.diagnostic(`insert → notification: ${inserted.ms.toFixed(1)} ms`);

  await store.claimNext('master-a', STALE_MS);
  const released = await notifiedAfter(db, REQUEST_INSERTED_CHANNEL, () => store.release(claimBy(id, 'master-a')));
  assert.equal(released.payload, id);

  await store.claimNext('master-a', STALE_MS);
  const finished = await notifiedAfter(db, REQUEST_FINISHED_CHANNEL, () =>
    store.complete(claimBy(id, 'master-a', 2), { outputDir: '/o', outputs: {}, workerTiles: {}, timings: {}, tilesDone: 0 }),
  );
  assert.deepEqual(JSON.parse(finished.payload), { id, status: 'completed' });

  const other = await inserter.insert({ bands: BANDS, indices: ['ndvi'] });
  await store.claimNext('master-a', STALE_MS);
  // A heartbeat is not a finish: the first finished notification must be the failure.
  const failedNote = await notifiedAfter(db, REQUEST_FINISHED_CHANNEL, async () => {
    await store.heartbeat(claimBy(other, 'master-a'));
    await store.recordProgress(claimBy(other, 'master-a'), 1);
    await store.fail(claimBy(other, 'master-a'), 'nope');
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

test('with notifications off, listen and onPending are no-ops and a transaction rolls back on error', async (t) => {
  const { connect } = await setup(t);
  const db = connect({ notifications: false });
  assert.equal(db.notifications, false);
  const heard: string[] = [];
  const unlisten = await db.listen(REQUEST_INSERTED_CHANNEL, (payload) => heard.push(payload));
  const store = new PostgresRequestStore(db);
  const unsubscribe = await store.onPending((id) => heard.push(`pending ${id}`));
  await store.insert({ bands: BANDS, indices: ['ndvi'] });
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(heard, []);
  await unlisten();
  await unsubscribe();

  await assert.rejects(
    db.transaction(async (tx) => {
      await tx.query(`INSERT INTO mosaic_requests (bands) VALUES ('{}')`);
      throw new Error('changed my mind');
    }),
    /changed my mind/,
  );
  assert.deepEqual((await db.query('SELECT count(*)::int AS n FROM mosaic_requests')).rows, [{ n: 1 }]);
});
