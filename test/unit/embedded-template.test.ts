/**
 * Seeding a new embedded data directory from the template (master/db/embedded-template.ts), on
 * small fake templates: what is copied and when, and when the template is not used.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  TEMPLATE_STAMP_NAME,
  installedPgliteVersion,
  readTemplateStamp,
  seedDataDir,
} from '../../master/db/embedded-template.js';

const VERSION = '9.8.7';
let root = '';
let template = '';

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'tessera-template-test-'));
  template = await fakeTemplate('template', VERSION);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function fakeTemplate(name: string, pglite: string): Promise<string> {
  const dir = join(root, name);
  await mkdir(join(dir, 'base', '1'), { recursive: true });
  await mkdir(join(dir, 'pg_notify'), { recursive: true }); // an empty folder is copied too
  await writeFile(join(dir, 'PG_VERSION'), '17\n');
  await writeFile(join(dir, 'postgresql.conf'), 'shared_buffers = 128MB\n');
  await writeFile(join(dir, 'base', '1', 'PG_VERSION'), '17\n');
  await writeFile(join(dir, 'base', '1', '1259'), Buffer.alloc(8192, 7));
  await writeFile(join(dir, TEMPLATE_STAMP_NAME), JSON.stringify({ pglite, migrations: ['001_a.sql'] }));
  return dir;
}

async function listTree(dir: string, prefix = ''): Promise<string[]> {
  const names: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    names.push(`${prefix}${entry.name}${entry.isDirectory() ? '/' : ''}`);
    if (entry.isDirectory()) names.push(...(await listTree(join(dir, entry.name), `${prefix}${entry.name}/`)));
  }
  return names.sort();
}

test('a new folder gets a copy of the template, without its stamp', async () => {
  const dataDir = join(root, 'new');
  const origin = await seedDataDir(dataDir, template, VERSION);
  assert.equal(origin.kind, 'template');
  assert.equal(origin.kind === 'template' && origin.files, 4);
  assert.deepEqual(await listTree(dataDir), [
    'PG_VERSION',
    'base/',
    'base/1/',
    'base/1/1259',
    'base/1/PG_VERSION',
    'pg_notify/',
    'postgresql.conf',
  ]);
  assert.deepEqual(await readFile(join(dataDir, 'base', '1', '1259')), Buffer.alloc(8192, 7));
});

test('a folder holding a database (its PG_VERSION) is left as it is', async () => {
  const dataDir = join(root, 'existing');
  await mkdir(dataDir);
  await writeFile(join(dataDir, 'PG_VERSION'), '17\n');
  await writeFile(join(dataDir, 'postgresql.conf'), 'mine\n');
  assert.deepEqual(await seedDataDir(dataDir, template, VERSION), { kind: 'existing' });
  assert.equal(await readFile(join(dataDir, 'postgresql.conf'), 'utf8'), 'mine\n');
  assert.deepEqual(await listTree(dataDir), ['PG_VERSION', 'postgresql.conf']);
});

test('a copy cut short (no PG_VERSION yet) is done again, over what it left', async () => {
  const dataDir = join(root, 'interrupted');
  await mkdir(join(dataDir, 'base', '1'), { recursive: true });
  await writeFile(join(dataDir, 'base', '1', '1259'), 'half');
  await writeFile(join(dataDir, 'tessera.lock'), '123\n'); // what else is there stays
  assert.equal((await seedDataDir(dataDir, template, VERSION)).kind, 'template');
  assert.deepEqual(await readFile(join(dataDir, 'base', '1', '1259')), Buffer.alloc(8192, 7));
  assert.equal(await readFile(join(dataDir, 'PG_VERSION'), 'utf8'), '17\n');
  assert.equal(await readFile(join(dataDir, 'tessera.lock'), 'utf8'), '123\n');
});

test('a template made with another PGlite is not used: initdb, saying why', async () => {
  const dataDir = join(root, 'other-version');
  const origin = await seedDataDir(dataDir, template, '9.9.0');
  assert.equal(origin.kind, 'initdb');
  assert.match(origin.kind === 'initdb' ? origin.reason : '', /made with PGlite 9\.8\.7, this is PGlite 9\.9\.0/);
  await assert.rejects(readdir(dataDir), /ENOENT/, 'nothing was copied');
});

test('no template, a malformed one, or none asked for: initdb', async () => {
  const missing = await seedDataDir(join(root, 'a'), join(root, 'no-such-template'), VERSION);
  assert.match(missing.kind === 'initdb' ? missing.reason : '', /no template at .*npm run build makes it/);
  const malformed = await fakeTemplate('malformed', VERSION);
  await writeFile(join(malformed, TEMPLATE_STAMP_NAME), JSON.stringify({ pglite: VERSION }));
  assert.equal(typeof (await readTemplateStamp(malformed, VERSION)), 'string');
  assert.equal((await seedDataDir(join(root, 'b'), malformed, VERSION)).kind, 'initdb');
  assert.deepEqual(await seedDataDir(join(root, 'c'), null, VERSION), { kind: 'initdb', reason: 'no template asked for' });
});

test('the stamp names the PGlite version and the migrations it holds', async () => {
  assert.deepEqual(await readTemplateStamp(template, VERSION), { pglite: VERSION, migrations: ['001_a.sql'] });
  assert.match(installedPgliteVersion(), /^\d+\.\d+\.\d+/);
});
