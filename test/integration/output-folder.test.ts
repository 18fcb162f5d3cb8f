/**
 * An output folder the master cannot write to is the master's problem, said as such: `tessera master`
 * refuses to start with a message naming the folder and the fix (before opening a database or a
 * port), and a folder that becomes unwritable while the master runs fails the request at once with
 * that explanation, never five attempts blamed on a worker.
 *
 * Permissions do not stop root, so when the tests run as root the master runs as `nobody` (setpriv,
 * from util-linux); otherwise as the user running the tests.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { packageRoot } from '../../shared/package-root.js';
import { InMemoryRequestStore } from '../../master/store/in-memory-request-store.js';
import { cliEntry } from '../support/cli.js';
import { startTestMaster, startWorkers } from '../support/cluster.js';
import { waitFinished } from '../support/wait-finished.js';
import { freePort } from '../support/ports.js';

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

/** `tessera <args>` as a user whom a 0555 folder stops; resolves to its exit code and stderr. */
function runUnprivileged(args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const command = asRoot ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath] : [process.execPath];
  const child = spawn(command[0]!, [...command.slice(1), cliEntry(), ...args], {
    cwd: packageRoot(),
    env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stderr })));
}

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tessera-output-folder-'));
  await chmod(scratch, 0o755);
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

test('tessera master with an output folder it cannot write refuses to start, naming the folder and the fix', { timeout: 30_000 }, async () => {
  const output = join(scratch, 'root-owned-output');
  await mkdir(output);
  await chmod(output, 0o555); // as `mkdir output` by another user leaves it for the master
  const { code, stderr } = await runUnprivileged(['master'], {
    OUTPUT_DIR: output,
    EMBEDDED_DB_DIR: join(scratch, 'db'),
    EMBEDDED_DB_PORT: String(await freePort()),
    GRPC_LISTEN: `127.0.0.1:${await freePort()}`,
  });
  assert.equal(code, 1, stderr);
  assert.match(stderr, /the master cannot write its outputs: permission denied \(EACCES\)/);
  assert.ok(stderr.includes(output), `names the folder: ${stderr}`);
  assert.match(stderr, /make .* writable by the master's user \(uid \d+\), e\.g\. chown -R/);
  assert.doesNotMatch(stderr, /worker/i);
  assert.doesNotMatch(stderr, /tile service listening|embedded PostgreSQL/, 'nothing was started');
});

test('an output folder that breaks while the master runs fails the request at once, the master\'s fault, not a worker\'s', { timeout: 60_000 }, async () => {
  const output = join(scratch, 'vanishing-output');
  const store = new InMemoryRequestStore();
  const master = await startTestMaster({ outputDir: output, tileMaxAttempts: 5, pollIntervalMs: 50 }, { store });
  const workers = startWorkers(1, master.grpcPort);
  try {
    await rm(output, { recursive: true });
    await writeFile(output, 'a file where the output folder was');
    const sample = join(packageRoot(), 'samples', 'L7_ETMs.tif');
    const id = await store.insert({ bands: { red: `${sample}#3`, nir: `${sample}#4` }, indices: ['ndvi'], stripRows: 30 });
    const row = await waitFinished(store, id, 30_000);
    assert.equal(row.status, 'failed');
    assert.match(row.error ?? '', /the master cannot write its outputs: a part of the path is not a folder \(ENOTDIR\)/);
    assert.ok((row.error ?? '').includes(output), row.error ?? '');
    assert.doesNotMatch(row.error ?? '', /worker|attempts/, 'no worker is blamed, no attempts were burnt');
  } finally {
    await Promise.all(workers.map((w) => w.stop({ graceful: false })));
    await master.stop({ graceful: false, timeoutMs: 1_000 });
  }
});
