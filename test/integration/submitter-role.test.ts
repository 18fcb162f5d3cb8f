/**
 * sql/roles/submitter.sql on a real PostgreSQL: a login role in tessera_submitter can insert a
 * request and read rows (tessera submit / status work as it), and cannot set a status, claim,
 * change or delete a row.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { connectDatabase, type Database } from '../../master/db/database.js';
import { migrate } from '../../master/db/migrate.js';
import { PostgresRequestStore } from '../../master/db/request-store.js';
import { packageRoot } from '../../shared/package-root.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

let database: TestDatabase;
let owner: Database;
const login = `tessera_test_submitter_${randomBytes(4).toString('hex')}`;

before(async () => {
  database = await createTestDatabase();
  owner = connectDatabase({ url: database.url, maxConnections: 1, notifications: false });
  await migrate(owner);
  await owner.query(await readFile(join(packageRoot(), 'sql', 'roles', 'submitter.sql'), 'utf8'));
  await owner.query(`CREATE ROLE ${login} LOGIN IN ROLE tessera_submitter`);
});
after(async () => {
  await owner.close();
  await database.drop();
  const admin = new pg.Client({ connectionString: process.env['TEST_DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/postgres' });
  await admin.connect();
  await admin.query(`DROP ROLE IF EXISTS ${login}`);
  await admin.end();
});

test('a submitter inserts and reads requests, and can change nothing else', async () => {
  const url = new URL(database.url);
  url.username = login;
  const submitter = connectDatabase({ url: url.toString(), maxConnections: 1, notifications: false });
  try {
    const store = new PostgresRequestStore(submitter);
    const id = await store.insert({ bands: { red: '/data/B04.tif', nir: '/data/B08.tif' }, indices: ['ndvi'], stripRows: 64 });
    assert.equal((await store.get(id))?.status, 'pending');
    assert.equal((await store.list()).length, 1);
    const refused = /permission denied/;
    await assert.rejects(submitter.query(`INSERT INTO mosaic_requests (bands, status) VALUES ('{}', 'completed')`), refused);
    await assert.rejects(submitter.query(`UPDATE mosaic_requests SET status = 'failed' WHERE id = $1`, [id]), refused);
    await assert.rejects(submitter.query(`DELETE FROM mosaic_requests WHERE id = $1`, [id]), refused);
    await assert.rejects(store.claimNext('a-submitter-is-no-master', 60_000), refused);
  } finally {
    await submitter.close();
  }
});

test('the file can be run again (roles and grants are idempotent)', async () => {
  await owner.query(await readFile(join(packageRoot(), 'sql', 'roles', 'submitter.sql'), 'utf8'));
});
