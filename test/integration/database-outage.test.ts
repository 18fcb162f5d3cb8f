/**
 * PostgreSQL goes away for 20 s in the middle of a request and comes back (issue 10, point 2), all
 * real processes: a private cluster of this test's own, a `tessera master` against it, two
 * `tessera worker`s, and `tessera submit --wait` following the request. The master keeps running
 * the request through the outage, records its completion once the database is back (the same claim:
 * no second attempt), the submitter keeps following and exits 0, no row is left `running`, and the
 * master is still up and claiming: a request inserted afterwards is woken by NOTIFY (the LISTEN
 * connection reconnected) long before its polling fallback.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { packageRoot } from '../../shared/package-root.js';
import { freePort } from '../../shared/free-port.js';
import { lastJsonLine, spawnCli } from '../support/cli.js';
import { spawnWorkerProcesses, stopProcesses } from '../support/cluster.js';
import { followJsonLog, type LogLine } from '../support/log-follower.js';
import { privateClusterUnavailable, startPrivateCluster } from '../support/private-postgres.js';

const OUTAGE_MS = 20_000;
/** Far longer than the test waits for the request after the outage: only a NOTIFY can get it claimed in time. */
const POLL_INTERVAL_MS = 120_000;
const sample = join(packageRoot(), 'samples', 'L7_ETMs.tif');
const BAND_ARGS = ['--band', `green=${sample}#2`, '--band', `red=${sample}#3`, '--band', `nir=${sample}#4`, '--band', `swir16=${sample}#5`, '--index', 'ndvi,ndsi'];

interface RowState {
  id: string;
  status: string;
  attempts: number;
  tiles_done: number;
  tiles_total: number | null;
  error: string | null;
}

/** One query on a connection of its own (the server comes and goes; no connection is kept). */
async function sql<R extends object>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url, application_name: 'tessera-outage-test' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** Polls `probe` every 50 ms until it returns something, for at most timeoutMs. */
async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

function exited(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`process ${child.pid} still running after ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

test('PostgreSQL stopped for 20 s mid-request: the request completes under its first claim, nothing stays running, the master stays up', { timeout: 180_000 }, async (t) => {
  const unavailable = privateClusterUnavailable();
  if (unavailable) {
    t.skip(unavailable);
    return;
  }
  // Cleaned up in this order: the processes, then their database, then their folder.
  const children: ChildProcess[] = [];
  t.after(() => stopProcesses(children));
  const cluster = await startPrivateCluster();
  t.after(() => cluster.destroy());
  const outputDir = await mkdtemp(join(tmpdir(), 'tessera-outage-'));
  t.after(() => rm(outputDir, { recursive: true, force: true }));

  const grpcPort = await freePort();
  const master = spawnCli(['master'], {
    DATABASE_URL: cluster.url,
    GRPC_LISTEN: `127.0.0.1:${grpcPort}`,
    OUTPUT_DIR: outputDir,
    POLL_INTERVAL_MS: String(POLL_INTERVAL_MS),
    LOG_LEVEL: 'info',
  });
  children.push(master);
  let masterStderr = '';
  master.stderr?.on('data', (chunk: Buffer) => (masterStderr += chunk.toString()));
  const masterLog = followJsonLog(master.stderr!);
  await masterLog.waitFor((line) => line['msg'] === 'master started', 'the master to start', 60_000);
  children.push(...spawnWorkerProcesses(2, grpcPort));

  // 352 one-row strips: the request is still running when the database goes away.
  const submit = spawnCli(['submit', ...BAND_ARGS, '--strip-rows', '1', '--wait', '--json'], { DATABASE_URL: cluster.url });
  children.push(submit);
  let submitOut = '';
  let submitErr = '';
  submit.stdout?.on('data', (chunk: Buffer) => (submitOut += chunk.toString()));
  submit.stderr?.on('data', (chunk: Buffer) => (submitErr += chunk.toString()));

  const before = await until('the request to be part-way', 60_000, async () => {
    const [row] = await sql<RowState>(cluster.url, 'SELECT id::text, status, attempts, tiles_done, tiles_total, error FROM mosaic_requests');
    assert.notEqual(row?.status, 'completed', 'finished before the outage: the request is too short');
    assert.notEqual(row?.status, 'failed', row?.error ?? '');
    return row && row.tiles_total !== null && row.tiles_done >= 10 ? row : undefined;
  });
  const stopping = performance.now();
  await cluster.stop();
  const stoppedAt = performance.now();
  t.diagnostic(`PostgreSQL stopped at ${before.tiles_done}/${before.tiles_total} tiles (pg_ctl stop took ${seconds(stoppedAt - stopping)})`);

  await sleep(OUTAGE_MS); // the outage: the one deliberate wait
  assert.equal(master.exitCode, null, `the master exited during the outage:\n${masterStderr.slice(-3_000)}`);
  assert.equal(submit.exitCode, null, `tessera submit --wait gave up during the outage:\n${submitErr}`);
  const outage = masterLog.lines.filter((line) => line.arrivedAt >= stoppedAt);
  const completedDuringOutage = outage.find((line) => line['msg'] === 'request completed');
  assert.equal(completedDuringOutage, undefined, 'nothing can be recorded while the database is down');
  const tilesDuringOutage = outage.some((line) => line['msg'] === 'progress update failed');
  const waiting = outage.find((line) => /^database unreachable while .*; retrying$/.test(String(line['msg'])));

  const restarting = performance.now();
  await cluster.start();
  const restartedAt = performance.now();
  t.diagnostic(`PostgreSQL down ${seconds(restarting - stoppedAt)}; pg_ctl start took ${seconds(restartedAt - restarting)}`);
  t.diagnostic(
    `during the outage the master ${tilesDuringOutage ? 'kept stitching strips (its progress writes failed)' : 'logged no failed progress write'}` +
      (waiting ? `, then waited ${seconds(waiting.arrivedAt - stoppedAt)} in: "${String(waiting['msg'])}"` : ', and was still running strips'),
  );

  const completed = await masterLog.waitFor((line) => line['msg'] === 'request completed', 'the completion to be recorded', 60_000);
  t.diagnostic(`completion recorded ${seconds(completed.arrivedAt - restartedAt)} after the restart`);
  assert.equal(await exited(submit, 30_000), 0, `tessera submit --wait:\n${submitErr}`);
  const summary = lastJsonLine<{ id: string; status: string; tilesDone: number; tilesTotal: number }>(submitOut);
  assert.equal(summary.status, 'completed');
  assert.equal(summary.tilesDone, summary.tilesTotal);
  assert.match(submitErr, /database unreachable .*; still following request/, 'the submitter said the database went away');
  assert.match(submitErr, /database reachable again/);

  const rows = await sql<RowState>(cluster.url, 'SELECT id::text, status, attempts, tiles_done, tiles_total, error FROM mosaic_requests');
  assert.deepEqual(
    rows.map((row) => [row.id, row.status, row.attempts, row.tiles_done]),
    [[summary.id, 'completed', 1, before.tiles_total]],
    'completed under its first claim, every tile counted',
  );
  const status = spawnCli(['status', summary.id, '--json'], { DATABASE_URL: cluster.url });
  let statusOut = '';
  status.stdout?.on('data', (chunk: Buffer) => (statusOut += chunk.toString()));
  assert.equal(await exited(status, 30_000), 0);
  assert.equal(lastJsonLine<{ status: string }>(statusOut).status, 'completed');

  // Still up and claiming: once its LISTEN connection is back, a new request is claimed at once.
  assert.equal(master.exitCode, null);
  await until('the LISTEN connection to reconnect', 30_000, async () => {
    const [listener] = await sql<{ n: number }>(cluster.url, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'tessera-listener'");
    return listener && listener.n > 0 ? true : undefined;
  });
  const [next] = await sql<{ id: string }>(
    cluster.url,
    `INSERT INTO mosaic_requests (bands, indices) VALUES ($1, '{ndvi}') RETURNING id::text`,
    [JSON.stringify({ red: `${sample}#3`, nir: `${sample}#4` })],
  );
  assert.ok(next);
  const inserted = performance.now();
  const done = await until('the next request to finish', 30_000, async () => {
    const [row] = await sql<RowState>(cluster.url, 'SELECT id::text, status, attempts, tiles_done, tiles_total, error FROM mosaic_requests WHERE id = $1', [next.id]);
    return row && (row.status === 'completed' || row.status === 'failed') ? row : undefined;
  });
  assert.equal(done.status, 'completed', done.error ?? '');
  t.diagnostic(`a request inserted after the outage completed in ${seconds(performance.now() - inserted)} (polling fallback: ${seconds(POLL_INTERVAL_MS)})`);
  const running = await sql<RowState>(cluster.url, "SELECT id::text, status FROM mosaic_requests WHERE status = 'running'");
  assert.deepEqual(running, [], 'no row left running');
  assert.equal(master.exitCode, null, 'the master is still up');
  const unexpected = masterLog.lines.filter((line: LogLine) => line['msg'] === 'could not record the request outcome' || line['msg'] === 'request failed unexpectedly');
  assert.deepEqual(unexpected, []);
});
