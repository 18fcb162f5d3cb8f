/** What the CLI says when things are not as they should be: no database, or an interrupted run. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { packageRoot } from '../../shared/package-root.js';
import { runCli, spawnCli } from '../support/cli.js';
import { freePort } from '../support/ports.js';


test('status without a running master says to start one or set DATABASE_URL', async () => {
  const port = await freePort();
  const result = await runCli(['status'], { DATABASE_URL: undefined, EMBEDDED_DB_PORT: String(port) });
  assert.equal(result.code, 1);
  assert.match(result.stderr, new RegExp(`cannot reach the database at postgres://postgres@127.0.0.1:${port}/postgres`));
  assert.match(result.stderr, /start `tessera master`/);
  assert.match(result.stderr, /DATABASE_URL/);
});

test('a central database that is down is named without its password', async () => {
  const port = await freePort();
  const result = await runCli(['submit', '--band', 'red=a.tif', '--band', 'nir=b.tif'], {
    DATABASE_URL: `postgres://tessera:hunter2@127.0.0.1:${port}/tessera`,
  });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /cannot reach the database at postgres:\/\/tessera:\*\*\*@127\.0\.0\.1/);
  assert.doesNotMatch(result.stderr + result.stdout, /hunter2/);
});

for (const moment of ['while it starts', 'while tiles are computed'] as const) {
  test(`Ctrl-C ${moment}: tessera run stops everything and leaves nothing behind in TMPDIR`, async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'tessera-interrupt-'));
    try {
      const sample = join(packageRoot(), 'samples', 'L7_ETMs.tif');
      const out = join(scratch, 'out');
      // TMPDIR: anything the run put in a temporary folder would be where this test can see it.
      // LOG_LEVEL info: the master says when its tile service listens, halfway through its start.
      const child = spawnCli(
        ['run', '--workers', '1', '--strip-rows', '1', '--band', `red=${sample}#3`, '--band', `nir=${sample}#4`, '--out', out],
        { TMPDIR: scratch, LOG_LEVEL: 'info' },
      );
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const ready =
        moment === 'while it starts'
          ? async () => /"msg":"tile service listening"/.test(stderr)
          : async () => (await readdir(out).catch(() => [])).some((name) => name.includes('.partial-'));
      for (let i = 0; !(await ready()); i += 1) {
        assert.ok(i < 600, `never got to the moment "${moment}"`);
        await sleep(50);
      }
      child.kill('SIGINT');
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      assert.notEqual(code, 0);
      assert.match(stderr, /interrupted \(SIGINT\)/);
      assert.deepEqual((await readdir(scratch)).filter((name) => name !== 'out'), []);
      assert.deepEqual((await readdir(out).catch(() => [])).filter((name) => name.includes('.partial')), [], 'no half-written output');
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
}

test('a master whose embedded-database port is taken says so and how to fix it', async () => {
  const scratch = await mkdtemp(join(tmpdir(), 'tessera-port-'));
  const blocker = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => blocker.once('listening', resolve));
  try {
    const address = blocker.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const result = await runCli(['master'], {
      DATABASE_URL: undefined,
      EMBEDDED_DB_DIR: join(scratch, 'data'),
      EMBEDDED_DB_PORT: String(port),
      GRPC_LISTEN: '127.0.0.1:0',
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`port ${port} on 127.0.0.1 is already in use`));
    assert.match(result.stderr, /set EMBEDDED_DB_PORT to a free port/);
  } finally {
    blocker.close();
    await rm(scratch, { recursive: true, force: true });
  }
});

test('a command line that cannot work is a usage error (exit 2) with the reason, before touching any database', async () => {
  const noBand = await runCli(['submit', '--index', 'ndvi'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
  assert.equal(noBand.code, 2);
  assert.match(noBand.stderr, /tessera: usage: give at least one --band NAME=PATH/);
  const badIndex = await runCli(['run', '--band', 'red=a.tif', '--band', 'nir=b.tif', '--index', 'gndvi']);
  assert.equal(badIndex.code, 2);
  assert.match(badIndex.stderr, /unknown index "gndvi"/);
});
