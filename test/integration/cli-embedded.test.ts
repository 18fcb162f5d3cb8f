/**
 * The local story, as separate processes: `tessera master` with no DATABASE_URL (embedded PGlite,
 * exposed on 127.0.0.1), a `tessera worker`, requests from `tessera submit --wait` and from psql,
 * `tessera status`, a graceful SIGTERM, and a restart that still sees the earlier requests.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { packageRoot } from '../../shared/package-root.js';
import { cliEntry, lastJsonLine, runCli, spawnCli } from '../support/cli.js';
import { freePort } from '../support/ports.js';

const execFileAsync = promisify(execFile);

function hasScript(): boolean {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const sample = join(packageRoot(), 'samples', 'L7_ETMs.tif');


/** Resolves to what the process wrote to stderr once that holds `pattern`; rejects if it exits first. */
function waitForStderr(child: ChildProcess, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} on stderr within ${timeoutMs} ms:\n${seen}`)), timeoutMs);
    child.stderr?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve(seen);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before ${pattern}:\n${seen}`));
    });
  });
}

function exited(child: ChildProcess, timeoutMs = 20_000): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => reject(new Error('did not exit')), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

interface Summary {
  id: string;
  status: string;
  error: string | null;
  outputs: Record<string, { png: string } | string>;
}

describe('tessera master / worker / submit / status on the embedded database', () => {
  let dir: string;
  let env: Record<string, string | undefined>;
  let master: ChildProcess;
  let worker: ChildProcess;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-cli-test-'));
    const dbPort = await freePort();
    const grpcPort = await freePort();
    env = {
      DATABASE_URL: undefined,
      EMBEDDED_DB_DIR: join(dir, 'data'),
      EMBEDDED_DB_PORT: String(dbPort),
      GRPC_LISTEN: `127.0.0.1:${grpcPort}`,
      MASTER_ADDRESS: `127.0.0.1:${grpcPort}`,
      OUTPUT_DIR: join(dir, 'output'),
      POLL_INTERVAL_MS: '100',
      LOG_LEVEL: 'info',
    };
    master = spawnCli(['master'], env);
    const log = await waitForStderr(master, /master started/);
    assert.match(log, /"origin":\{"kind":"template"/, 'a new data folder is copied from the build\'s template, not initdb\'d');
    worker = spawnCli(['worker'], env);
  });

  after(async () => {
    for (const child of [worker, master]) if (child && child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  test('submit --wait follows a request to completed; status shows it', async () => {
    const submitted = await runCli(
      ['submit', '--band', `red=${sample}#3`, '--band', `nir=${sample}#4`, '--index', 'ndvi', '--strip-rows', '128', '--wait', '--json'],
      env,
    );
    assert.equal(submitted.code, 0, submitted.stderr);
    const summary = lastJsonLine<Summary>(submitted.stdout);
    assert.equal(summary.status, 'completed');
    const files = summary.outputs['ndvi'];
    assert.ok(typeof files === 'object' && files.png.startsWith(join(dir, 'output', summary.id)));

    const status = await runCli(['status', summary.id, '--json'], env);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(lastJsonLine<Summary>(status.stdout).status, 'completed');
  });

  test('submit --wait draws a progress bar on a terminal', { skip: hasScript() ? false : 'util-linux `script` (a pseudo-terminal) is not installed' }, async () => {
    // The bar is drawn only when stderr is a terminal: `script` runs the CLI on a pseudo-terminal.
    const command = [process.execPath, cliEntry(), 'submit', '--band', `red=${sample}#3`, '--band', `nir=${sample}#4`, '--strip-rows', '64', '--wait']
      .map((word) => `'${word}'`)
      .join(' ');
    const { stdout } = await execFileAsync('script', ['-qec', command, '/dev/null'], { env: { ...process.env, ...env, LOG_LEVEL: 'warn' } });
    assert.match(stdout, /request \d+ \[[█░]+\] \d+\/\d+ tiles \| (pending|running|completed)/);
    assert.match(stdout, /6\/6 tiles \| completed/); // 64 rows asked: 63-row strips on the sample's 3-row file strips
    assert.match(stdout, /: completed/);
  });

  test('psql reaches the embedded database of the master started on a new folder; an inserted row is picked up by polling and completes', async () => {
    const insert = `INSERT INTO mosaic_requests (bands, indices, strip_rows) VALUES ('{"red": "${sample}#3", "nir": "${sample}#4"}', '{ndvi}', 256) RETURNING id`;
    const { stdout } = await execFileAsync('psql', ['-h', '127.0.0.1', '-p', String(env['EMBEDDED_DB_PORT']), '-U', 'postgres', '-qAtc', insert]);
    const id = stdout.trim();
    assert.match(id, /^\d+$/);
    for (let i = 0; ; i += 1) {
      const status = await runCli(['status', id, '--json'], env);
      const row = lastJsonLine<Summary>(status.stdout);
      if (row.status === 'completed') break;
      assert.notEqual(row.status, 'failed', row.error ?? '');
      assert.ok(i < 100, `still ${row.status}`);
      await sleep(200);
    }
  });

  test('submit --wait exits non-zero with the reason when the request fails', async () => {
    const submitted = await runCli(['submit', '--band', 'red=/nowhere/B04.tif', '--band', 'nir=/nowhere/B08.tif', '--wait'], env);
    assert.equal(submitted.code, 1);
    assert.match(submitted.stdout, /failed/);
    assert.match(submitted.stdout, /\/nowhere\/B0[48]\.tif/);
  });

  test('SIGTERM stops master and worker cleanly; a restarted master still has the requests', async () => {
    worker.kill('SIGTERM');
    master.kill('SIGTERM');
    assert.equal(await exited(worker), 0);
    assert.equal(await exited(master), 0);

    master = spawnCli(['master'], env);
    assert.match(await waitForStderr(master, /master started/), /"origin":\{"kind":"existing"\}/);
    const status = await runCli(['status', '--json'], env);
    assert.equal(status.code, 0, status.stderr);
    const rows = lastJsonLine<Summary[]>(status.stdout);
    assert.deepEqual(
      rows.map((r) => r.status).sort(),
      ['completed', 'completed', 'completed', 'failed'],
    );
    master.kill('SIGTERM');
    assert.equal(await exited(master), 0);
  });
});
