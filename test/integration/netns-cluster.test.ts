/**
 * Workers on other hosts, for real: the master runs in a network namespace of its own and three
 * workers in three others, joined by veth pairs on 198.18.0.0/24 (test/support/netns.ts). The
 * workers reach the master only at its namespace address, over TLS (a certificate naming
 * 198.18.0.1) with the worker token; the master's database is its embedded PostgreSQL on the
 * loopback of its own namespace. A request completes with correct pixels while one worker's link
 * is cut (link down) right after it took a tile. No namespace has a default route: traffic never
 * leaves the namespaces the test made. Needs root and iproute2; skipped, saying why, without them.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { packageRoot } from '../../shared/package-root.js';
import { cliEntry } from '../support/cli.js';
import { followJsonLog, type LogFollower } from '../support/log-follower.js';
import { createNetnsLab, HUB_ADDRESS, netnsUnavailable, type NetnsLab } from '../support/netns.js';
import { compareCodes, referenceCodes } from '../support/reference-index.js';
import { makeTestCertificates, opensslAvailable } from '../support/test-certificates.js';

const sample = join(packageRoot(), 'samples', 'L7_ETMs.tif');
const MASTER = `${HUB_ADDRESS}:50051`;
const EMBEDDED_DB_PORT = '54329'; // on the master namespace's own loopback: no other process can hold it

const skip = (await netnsUnavailable()) ?? ((await opensslAvailable()) ? undefined : 'openssl is needed to make the certificates');
if (skip) process.stdout.write(`netns-cluster: skipped, ${skip}\n`);

interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Collects a child's output until it exits. */
function finished(child: ChildProcess): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

describe('master and three workers in separate network namespaces', { skip }, () => {
  let lab: NetnsLab | undefined;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const children: ChildProcess[] = [];
  let masterLog: LogFollower;

  const tessera = (namespace: string, args: readonly string[], extra: NodeJS.ProcessEnv = {}): ChildProcess => {
    assert.ok(lab);
    const child = lab.spawnIn(namespace, process.execPath, [cliEntry(), ...args], { ...env, ...extra });
    children.push(child);
    return child;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-netns-'));
    const certificates = await makeTestCertificates(dir, { serverAltNames: [`IP:${HUB_ADDRESS}`] });
    lab = await createNetnsLab(3);
    env = {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      DATABASE_URL: '', // the embedded database, inside the master's namespace
      EMBEDDED_DB_DIR: join(dir, 'data'),
      EMBEDDED_DB_PORT,
      OUTPUT_DIR: join(dir, 'output'),
      GRPC_LISTEN: MASTER,
      WORKER_TOKEN: randomBytes(24).toString('hex'),
      GRPC_TLS_CERT: certificates.serverCert,
      GRPC_TLS_KEY: certificates.serverKey,
      MASTER_ADDRESS: MASTER,
      MASTER_TLS_CA: certificates.ca,
      // Namespaces share this machine's files; workers on other hosts do not, so the source data
      // must come over the link from the master, as it would for them.
      DIRECT_READS: 'off',
      POLL_INTERVAL_MS: '100',
      // A tile whose worker went silent goes to another worker after 3 s (its Attend call, over
      // a link that is down, would only end when keepalive gives up).
      TILE_LEASE_MS: '3000',
      LOG_LEVEL: 'warn',
    };
    const master = tessera(lab.hub, ['master'], { LOG_LEVEL: 'debug' });
    assert.ok(master.stderr);
    masterLog = followJsonLog(master.stderr);
    await masterLog.waitFor((line) => line['msg'] === 'master started', 'the master to start', 60_000);
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(children.map(exited));
    await lab?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('no namespace has a default route; each has only its loopback and its link', async () => {
    assert.ok(lab);
    for (const namespace of [lab.hub, ...lab.spokes.map((s) => s.namespace)]) {
      assert.equal((await lab.ip(['-n', namespace, 'route', 'show', 'default'])).trim(), '', `${namespace}: default route`);
      assert.equal((await lab.ip(['-n', namespace, '-6', 'route', 'show', 'default'])).trim(), '', `${namespace}: IPv6 default route`);
      const routes: string[] = (await lab.ip(['-n', namespace, '-4', 'route', 'show'])).trim().split('\n');
      assert.deepEqual(routes.map((route) => route.split(' ')[0]), ['198.18.0.0/24'], `${namespace}: routes`);
    }
  });

  test('from a worker namespace, tessera health master reaches the master over TLS at its namespace address', async () => {
    assert.ok(lab?.spokes[0]);
    const result = await finished(tessera(lab.spokes[0].namespace, ['health', 'master', '--address', MASTER, '--ca', String(env['MASTER_TLS_CA'])]));
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /SERVING/);
    // Without the CA the handshake fails: the connection really is TLS.
    const plain = await finished(tessera(lab.spokes[0].namespace, ['health', 'master', '--address', MASTER], { MASTER_TLS_CA: '' }));
    assert.equal(plain.code, 1, plain.stdout);
  });

  test('a request completes with correct pixels while one worker\'s link is cut after it took a tile', { timeout: 180_000 }, async (t) => {
    assert.ok(lab);
    const [first, victim, third] = lab.spokes;
    assert.ok(first && victim && third);
    for (const [i, spoke] of lab.spokes.entries()) tessera(spoke.namespace, ['worker'], { WORKER_ID: `w${i + 1}` });
    await Promise.all(['w1', 'w2', 'w3'].map((id) => masterLog.waitFor((l) => l['msg'] === 'worker attending' && l['workerId'] === id, `${id} attending`, 60_000)));

    // 352 one-row strips: plenty left when the victim takes its first one.
    const submit = finished(
      tessera(lab.hub, ['submit', '--band', `red=${sample}#3`, '--band', `nir=${sample}#4`, '--index', 'ndvi', '--strip-rows', '1', '--wait', '--json']),
    );
    const taken = await masterLog.waitFor((l) => l['msg'] === 'tile leased' && l['workerId'] === 'w2', 'w2 to take a tile', 60_000);
    await lab.cut(victim);
    const cutAt = masterLog.lines.length;

    const result = await submit;
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const summary = JSON.parse(result.stdout.trim().split('\n').pop() ?? '') as { status: string; outputs: { ndvi: { png: string } }; workerTiles: Record<string, number> };
    assert.equal(summary.status, 'completed');
    assert.ok((summary.workerTiles['w1'] ?? 0) > 0 && (summary.workerTiles['w3'] ?? 0) > 0, JSON.stringify(summary.workerTiles));
    const after = masterLog.lines.slice(cutAt);
    const victimLeasesAfterCut = after.filter((l) => l['msg'] === 'tile leased' && l['workerId'] === 'w2').length;
    const expired = after.filter((l) => String(l['msg']).startsWith('tile lease expired') && l['workerId'] === 'w2').length;
    t.diagnostic(`w2 took ${String(taken['taskId'])}, then its link went down; tiles ${JSON.stringify(summary.workerTiles)}; leases to w2 after the cut ${victimLeasesAfterCut}, expired ${expired}`);
    // Nothing w2 was handed after the cut can have come back: each such lease ran out and went to another worker.
    assert.ok(expired >= victimLeasesAfterCut, `${victimLeasesAfterCut} leases to w2 after the cut, ${expired} expired`);

    const path = summary.outputs.ndvi.png;
    const manifest = JSON.parse(await readFile(join(dirname(path), 'manifest.json'), 'utf8')) as { tiles: { payloadBytes: number; directReadBytes: number } };
    assert.ok(manifest.tiles.payloadBytes > 0 && manifest.tiles.directReadBytes === 0, `the source data crossed the links: ${JSON.stringify(manifest.tiles)}`);
    assert.equal((await sharp(path).metadata()).channels, 1, 'a grey PNG');
    const png = await sharp(path).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    const expected = await referenceCodes(sample, 4, 3);
    const agreement = compareCodes(new Uint8Array(png.data), expected.codes);
    assert.equal(agreement.nodataMismatches, 0, 'no-data identical');
    assert.equal(agreement.withinOne, agreement.total, '100 % within ±1');
    assert.ok(agreement.exact / agreement.total >= 0.9999, `≥ 99.99 % exact (${agreement.exact}/${agreement.total})`);
    assert.ok(new Set(png.data).size > 50, 'the index varies');
  });
});
