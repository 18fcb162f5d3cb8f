/**
 * The embedded PostgreSQL (PGlite behind pglite-socket): reachable by pg clients and psql on a port of
 * its own choosing, runs the migrations and the queue, keeps its data across restarts, and refuses a
 * second opener of the same data directory.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { packageRoot } from '../../shared/package-root.js';
import { connectDatabase, type Database } from '../../master/db/database.js';
import {
  DataDirInUseError,
  LOCK_FILE_NAME,
  startEmbeddedPostgres,
  type EmbeddedPostgres,
} from '../../master/db/embedded-postgres.js';
import { defaultMigrationsDir, migrate } from '../../master/db/migrate.js';
import { REQUEST_INSERTED_CHANNEL, PostgresRequestStore } from '../../master/db/request-store.js';
import { claimBy } from '../support/request-store-contract.js';

const run = promisify(execFile);
const BANDS = { red: '/data/input/B04.tif', nir: 'samples/L7_ETMs.tif#4' };

let dataDir = '';
before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tessera-embedded-'));
});
after(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

/** Starts the server for one test and stops it afterwards, whatever happens. */
async function withServer<T>(fn: (server: EmbeddedPostgres) => Promise<T>): Promise<T> {
  const server = await startEmbeddedPostgres({ dataDir, port: 0 });
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}

/** A client as an outside program would open it: its own TCP connection. */
async function client(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => {});
  await c.connect();
  return c;
}

function masterDatabase(url: string): Database {
  // The master's settings for this mode: one connection, no LISTEN.
  return connectDatabase({ url, maxConnections: 1, notifications: false, onError: () => {} });
}

async function migrationFiles(dir = defaultMigrationsDir()): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort();
}

async function recordedMigrations(db: Database): Promise<string[]> {
  return (await db.query<{ name: string }>('SELECT name FROM tessera_migrations ORDER BY name')).rows.map((row) => row.name);
}

test('serves pg clients and psql on a free port; a new folder is copied from the migrated template', async (t) => {
  const started = performance.now();
  await withServer(async (server) => {
    t.diagnostic(`first start (from the template) took ${(performance.now() - started).toFixed(0)} ms`);
    assert.equal(server.origin.kind, 'template', 'npm run build made dist/embedded-db-template');
    assert.match(server.url, /^postgres:\/\/postgres@127\.0\.0\.1:[1-9][0-9]*\/postgres$/);
    const port = new URL(server.url).port;

    const db = masterDatabase(server.url);
    try {
      const files = await migrationFiles();
      assert.deepEqual(await recordedMigrations(db), files, 'the template holds every migration of this tree');
      assert.deepEqual(await migrate(db), []);

      // Another program inserts a request on its own connection; the master sees and claims it.
      const other = await client(server.url);
      const { rows } = await other.query<{ id: string }>(
        `INSERT INTO mosaic_requests (bands, indices) VALUES ($1, '{ndvi,ndsi}') RETURNING id::text AS id`,
        [JSON.stringify(BANDS)],
      );
      await other.end();
      const store = new PostgresRequestStore(db);
      const seen = await store.get(rows[0]!.id);
      assert.equal(seen?.status, 'pending');
      assert.deepEqual(seen?.bands, BANDS);
      assert.deepEqual(seen?.indices, ['ndvi', 'ndsi']);
      const claimed = await store.claimNext('master-a', 60_000);
      assert.equal(claimed?.id, rows[0]!.id);
      assert.equal(claimed?.status, 'running');
      const result = { outputDir: '/out', outputs: [], workerTiles: { w: 1 }, timings: {}, tilesDone: 1 };
      assert.equal(await store.complete(claimBy(claimed.id, 'master-a'), result), true);
      assert.equal((await store.get(claimed.id))?.status, 'completed');
    } finally {
      await db.close();
    }

    // Any user/database is accepted; the session is always postgres on postgres.
    const { stdout } = await run('psql', ['-h', '127.0.0.1', '-p', port, '-U', 'postgres', '-Atc', 'select 1'], {
      timeout: 20_000,
    });
    assert.equal(stdout.trim(), '1');
    const psqlArgs = ['-h', '127.0.0.1', '-p', port, '-U', 'someone', '-d', 'elsewhere'];
    const who = await run('psql', [...psqlArgs, '-Atc', 'select current_user, current_database()'], { timeout: 20_000 });
    assert.equal(who.stdout.trim(), 'postgres|postgres');
  });
});

test('NOTIFY reaches only the connection that caused it (hence polling in this mode)', async () => {
  await withServer(async (server) => {
    const listener = await client(server.url);
    const inserter = await client(server.url);
    try {
      const heard: string[] = [];
      listener.on('notification', (n) => heard.push(n.payload ?? ''));
      await listener.query(`LISTEN ${REQUEST_INSERTED_CHANNEL}`);
      const own = await listener.query<{ id: string }>(
        `INSERT INTO mosaic_requests (bands) VALUES ('{}') RETURNING id::text AS id`,
      );
      const foreign = await inserter.query<{ id: string }>(
        `INSERT INTO mosaic_requests (bands) VALUES ('{}') RETURNING id::text AS id`,
      );
      await listener.query('SELECT 1');
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.ok(heard.includes(own.rows[0]!.id), 'heard its own insert');
      assert.ok(!heard.includes(foreign.rows[0]!.id), "did not hear the other connection's insert");
    } finally {
      await listener.end();
      await inserter.end();
    }
  });
});

test('a restart sees the rows written before it', async () => {
  const id = await withServer(async (server) => {
    assert.equal(server.origin.kind, 'existing');
    const db = masterDatabase(server.url);
    try {
      await migrate(db);
      return await new PostgresRequestStore(db).insert({ bands: BANDS, indices: ['ndvi'], stripRows: 256 });
    } finally {
      await db.close();
    }
  });
  await withServer(async (server) => {
    const db = masterDatabase(server.url);
    try {
      assert.deepEqual(await migrate(db), [], 'already migrated');
      const row = await new PostgresRequestStore(db).get(id);
      assert.equal(row?.stripRows, 256);
      const count = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM mosaic_requests');
      assert.ok((count.rows[0]?.n ?? 0) >= 2, 'the rows of the earlier tests are there too');
    } finally {
      await db.close();
    }
  });
});

test('a second opener of the same data directory gets a clear error, in this process or another', async () => {
  await withServer(async () => {
    const lock = await readFile(join(dataDir, LOCK_FILE_NAME), 'utf8');
    assert.equal(lock.trim(), String(process.pid));

    await assert.rejects(startEmbeddedPostgres({ dataDir, port: 0 }), (error: unknown) => {
      assert.ok(error instanceof DataDirInUseError);
      assert.match(error.message, /already open in this process/);
      return true;
    });

    const child = await runChild(`
      const { startEmbeddedPostgres } = await import(${JSON.stringify(join(packageRoot(), 'master/db/embedded-postgres.ts'))});
      try {
        const server = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, port: 0 });
        await server.stop();
        console.log('OPENED');
      } catch (error) {
        console.log(error.name + ': ' + error.message);
      }`);
    assert.match(child, new RegExp(`DataDirInUseError: .*already open in process ${process.pid}`));
  });
  await assert.rejects(readFile(join(dataDir, LOCK_FILE_NAME)), /ENOENT/, 'stop() released the lock');
});

test('a lock left behind by a dead process is taken over', async () => {
  const deadPid = Number(await runChild('console.log(process.pid)'));
  await writeFile(join(dataDir, LOCK_FILE_NAME), `${deadPid}\n`);
  await withServer(async (server) => {
    assert.equal((await readFile(join(dataDir, LOCK_FILE_NAME), 'utf8')).trim(), String(process.pid));
    const c = await client(server.url);
    assert.equal((await c.query('SELECT 1 AS one')).rows[0]?.one, 1);
    await c.end();
  });
});

test('a migration added after the folder was made is applied, and only it', async () => {
  const migrations = await mkdtemp(join(tmpdir(), 'tessera-migrations-'));
  try {
    for (const name of await migrationFiles()) await copyFile(join(defaultMigrationsDir(), name), join(migrations, name));
    await writeFile(join(migrations, '999_later.sql'), 'CREATE TABLE later_addition (id int PRIMARY KEY);\nINSERT INTO later_addition VALUES (7);\n');
    await withServer(async (server) => {
      const db = masterDatabase(server.url);
      try {
        assert.deepEqual(await migrate(db, migrations), ['999_later.sql']);
        assert.deepEqual(await migrate(db, migrations), []);
        assert.equal((await db.query<{ id: number }>('SELECT id FROM later_addition')).rows[0]?.id, 7);
        assert.deepEqual(await recordedMigrations(db), [...(await migrationFiles()), '999_later.sql']);
      } finally {
        await db.close();
      }
    });
  } finally {
    await rm(migrations, { recursive: true, force: true });
  }
});

test('without a template a new folder is made by initdb, and every migration is applied', async (t) => {
  const ownDir = await mkdtemp(join(tmpdir(), 'tessera-embedded-initdb-'));
  try {
    const started = performance.now();
    const server = await startEmbeddedPostgres({ dataDir: ownDir, port: 0, templateDir: null });
    t.diagnostic(`first start (with initdb) took ${(performance.now() - started).toFixed(0)} ms`);
    try {
      assert.equal(server.origin.kind, 'initdb');
      const db = masterDatabase(server.url);
      try {
        assert.deepEqual(await migrate(db), await migrationFiles());
        assert.deepEqual(await migrate(db), []);
      } finally {
        await db.close();
      }
    } finally {
      await server.stop();
    }
  } finally {
    await rm(ownDir, { recursive: true, force: true });
  }
});

/** Runs ESM `code` in a fresh node process (TypeScript imports allowed) and resolves to its trimmed stdout. */
function runChild(code: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: packageRoot(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(stdout.trim()) : reject(new Error(`child exited with ${code}: ${stderr}`)),
    );
  });
}
