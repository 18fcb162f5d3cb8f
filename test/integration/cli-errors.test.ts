/** What the CLI says when the database it needs is not there: where it looked, and what to do. */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { runCli } from '../support/cli.js';

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
    });
  });
}

test('status without a running master says to start one or set DATABASE_URL', async () => {
  const port = await closedPort();
  const result = await runCli(['status'], { DATABASE_URL: undefined, EMBEDDED_DB_PORT: String(port) });
  assert.equal(result.code, 1);
  assert.match(result.stderr, new RegExp(`cannot reach the database at postgres://postgres@127.0.0.1:${port}/postgres`));
  assert.match(result.stderr, /start `tessera master`/);
  assert.match(result.stderr, /DATABASE_URL/);
});

test('a central database that is down is named without its password', async () => {
  const port = await closedPort();
  const result = await runCli(['submit', '--band', 'red=a.tif', '--band', 'nir=b.tif'], {
    DATABASE_URL: `postgres://tessera:hunter2@127.0.0.1:${port}/tessera`,
  });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /cannot reach the database at postgres:\/\/tessera:\*\*\*@127\.0\.0\.1/);
  assert.doesNotMatch(result.stderr + result.stdout, /hunter2/);
});
