/**
 * `npm run test:compose`: the real docker-compose.yml on a real Docker engine.
 *
 * This machine's Docker has no bridge network (../shared/tools/docker-offline.sh), so the test
 * derives a host-network variant of docker-compose.yml instead of editing it: no `ports`,
 * `network_mode: host`, `build.network: host`, service addresses on 127.0.0.1, and PostgreSQL and
 * the master on free ports. Then: without WORKER_TOKEN docker-compose refuses to start; with one,
 * build, up with 3 workers, a TileService call from the host without the token (or with a wrong
 * one) is refused, submit the sample through the master container, check the PNGs on the host and
 * the row, read the request table through the web service (and its token refusing a submit), scale to 1 worker and submit again, and `docker-compose down` in the middle of a request
 * leaves no row `running`. Everything is torn down at the end, whatever happened.
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { packageRoot } from '../../shared/package-root.js';
import { createTileServiceClient } from '../../shared/proto/tile-service.js';
import { freePort } from '../support/ports.js';

const execFileAsync = promisify(execFile);
const root = packageRoot();
const project = `tessera-compose-test-${randomBytes(3).toString('hex')}`;
const DB = { user: 'tessera', password: 'tessera', name: 'tessera' };

interface ComposeService {
  build?: { context?: string; dockerfile?: string; network?: string };
  ports?: string[];
  network_mode?: string;
  environment?: Record<string, string>;
  [key: string]: unknown;
}


/** The host-network variant of the real docker-compose.yml (which stays as it is). */
export function hostNetworkVariant(text: string, ports: { db: number; grpc: number }): string {
  const doc = parse(text) as { services: Record<string, ComposeService> };
  for (const service of Object.values(doc.services)) {
    delete service.ports;
    service.network_mode = 'host';
    if (service.build) service.build = { ...service.build, context: root, network: 'host' };
  }
  const { db, master } = doc.services;
  assert.ok(db && master, 'docker-compose.yml has db and master services');
  // PostgreSQL off 5432 (the machine may run its own); PGPORT moves the server and pg_isready.
  db.environment = { ...db.environment, PGPORT: String(ports.db) };
  return stringify(doc);
}

describe('docker-compose: db, master and scaled workers on a real Docker engine', { timeout: 20 * 60_000 }, () => {
  let dir: string;
  let composeFile: string;
  let env: NodeJS.ProcessEnv;
  let grpcAddress: string;
  let webUrl: string;
  let firstId: string;
  const webToken = randomBytes(32).toString('hex');
  const workerToken = randomBytes(32).toString('hex');

  async function compose(args: readonly string[], timeoutMs = 10 * 60_000): Promise<string> {
    const { stdout } = await execFileAsync('docker-compose', ['-f', composeFile, '-p', project, ...args], {
      env,
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  }

  /** `tessera …` inside the master container, as the README tells users to run it. */
  async function inMaster(args: readonly string[]): Promise<string> {
    return compose(['exec', '-T', 'master', 'tessera', ...args], 5 * 60_000);
  }

  async function psql(sql: string): Promise<string> {
    const out = await compose(['exec', '-T', 'db', 'psql', '-U', DB.user, '-d', DB.name, '-p', String(env['DB_PORT']), '-qAtc', sql], 60_000);
    return out.trim();
  }

  async function waitHealthy(service: string, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ids = (await compose(['ps', '-q', service])).trim().split('\n').filter(Boolean);
      const states = await Promise.all(
        ids.map(async (id) => (await execFileAsync('docker', ['inspect', '--format', '{{.State.Health.Status}}', id])).stdout.trim()),
      );
      if (states.length > 0 && states.every((s) => s === 'healthy')) return;
      if (Date.now() > deadline) throw new Error(`${service} not healthy: ${states.join(', ')}`);
      await sleep(1_000);
    }
  }

  const sample = (band: number): string => `/data/input/L7_ETMs.tif#${band}`;
  const submitArgs = (stripRows: number): string[] => [
    'submit',
    '--band', `red=${sample(3)}`,
    '--band', `nir=${sample(4)}`,
    '--band', `green=${sample(2)}`,
    '--band', `swir16=${sample(5)}`,
    '--index', 'ndvi,ndsi',
    '--strip-rows', String(stripRows),
  ];

  interface Summary {
    id: string;
    status: string;
    error: string | null;
    workerTiles: Record<string, number>;
    tilesTotal: number;
  }

  before(async () => {
    await execFileAsync('docker', ['info'], { timeout: 30_000 }).catch((error: unknown) => {
      throw new Error(`no Docker engine answers (run ../shared/tools/docker-offline.sh first): ${String(error)}`);
    });
    dir = await mkdtemp(join(tmpdir(), 'tessera-compose-'));
    await mkdir(join(dir, 'input'));
    // Root-owned with mode 0755, as `mkdir output` by root leaves it: the master runs as uid 1000,
    // and its entrypoint makes the folder its own (issue 9: this used to fail every request, EACCES).
    await mkdir(join(dir, 'output'), { mode: 0o755 });
    await mkdir(join(dir, 'certs')); // mounted read-only into master and workers (TLS is off here)
    await copyFile(join(root, 'samples', 'L7_ETMs.tif'), join(dir, 'input', 'L7_ETMs.tif'));
    const ports = { db: await freePort(), grpc: await freePort() };
    const webPort = await freePort();
    grpcAddress = `127.0.0.1:${ports.grpc}`;
    webUrl = `http://127.0.0.1:${webPort}`;
    composeFile = join(dir, 'docker-compose.host.yml');
    await writeFile(composeFile, hostNetworkVariant(await readFile(join(root, 'docker-compose.yml'), 'utf8'), ports));
    env = {
      ...process.env,
      DB_HOST: '127.0.0.1',
      DB_PORT: String(ports.db),
      MASTER_HOST: '127.0.0.1',
      MASTER_GRPC_PORT: String(ports.grpc),
      WORKER_TOKEN: workerToken,
      WEB_TOKEN: webToken,
      WEB_PORT: String(webPort),
      WEB_BASEMAP_URL: 'none',
      POLL_INTERVAL_MS: '500',
      SHUTDOWN_TIMEOUT_MS: '10000',
      // One fixed tag for every run: re-runs reuse the layer cache, and nothing piles up.
      TESSERA_MASTER_IMAGE: 'tessera-master:compose-test',
      TESSERA_WORKER_IMAGE: 'tessera-worker:compose-test',
    };
  });

  after(async () => {
    if (!composeFile) return;
    await compose(['down', '-v', '--remove-orphans'], 5 * 60_000).catch((error: unknown) =>
      process.stderr.write(`teardown: ${String(error)}\n`),
    );
    await rm(dir, { recursive: true, force: true });
  });

  test('without WORKER_TOKEN docker-compose refuses to start, and says how to make one', async () => {
    const { WORKER_TOKEN: _, ...withoutToken } = env;
    const refused = await execFileAsync('docker-compose', ['-f', composeFile, '-p', project, 'config'], { env: withoutToken, timeout: 60_000 }).then(
      () => undefined,
      (error: unknown) => error as { stderr?: string },
    );
    assert.ok(refused, 'docker-compose config succeeded without WORKER_TOKEN');
    assert.match(String(refused.stderr), /WORKER_TOKEN/);
    assert.match(String(refused.stderr), /openssl rand -hex 32/);
  });

  test('up with 3 workers; a request submitted in the master container completes, shared by several workers', async () => {
    await compose(['up', '-d', '--build', '--scale', 'worker=3']);
    await waitHealthy('db');
    await waitHealthy('master');
    const summary = JSON.parse((await inMaster([...submitArgs(64), '--wait', '--json'])).trim().split('\n').pop() ?? '') as Summary;
    assert.equal(summary.status, 'completed', summary.error ?? '');
    for (const name of ['ndvi.png', 'ndsi.png', 'ndvi_color.png', 'manifest.json']) {
      assert.ok((await stat(join(dir, 'output', summary.id, name))).size > 0, `${name} on the host`);
    }
    assert.equal(await psql(`SELECT status FROM mosaic_requests WHERE id = ${summary.id}`), 'completed');
    const workers = Object.keys(summary.workerTiles);
    assert.ok(workers.length > 1, `tiles by ${workers.join(', ')}`);
    // ./input is mounted into master and workers at the same path: the workers read it themselves;
    // ./output too: they leave their results there as files (DIRECT_WRITES), none left behind.
    const { tiles } = JSON.parse(await readFile(join(dir, 'output', summary.id, 'manifest.json'), 'utf8')) as { tiles: { payloadBytes: number; directReadBytes: number; resultBytes: number; resultFileBytes: number; stripDeflate: string } };
    assert.equal(tiles.stripDeflate, 'isal', 'the master image has ISA-L, so STRIP_DEFLATE=auto asks the workers for ISA-L strips');
    assert.ok(tiles.payloadBytes === 0 && tiles.directReadBytes > 0, `direct reads in the containers: ${JSON.stringify(tiles)}`);
    assert.ok(tiles.resultBytes > 0 && tiles.resultFileBytes === tiles.resultBytes, `result files in the containers: ${JSON.stringify(tiles)}`);
    assert.deepEqual((await readdir(join(dir, 'output'))).filter((name) => name.includes('.partial')), [], 'no staging or result folder left');
    // The worker image has libdeflate0, so INFLATE_LIBRARY=auto takes it.
    const started = (await compose(['logs', '--no-color', 'worker'], 60_000)).split('\n').filter((line) => line.includes('connecting to the master'));
    assert.equal(started.length, 3, started.join('\n'));
    for (const line of started) assert.match(line, /"inflate":"libdeflate"/);
    firstId = summary.id;
  });

  test('the web service reads the request table from the same database, serves its files, and wants WEB_TOKEN to submit', async () => {
    await waitHealthy('web');
    const page = (await (await fetch(`${webUrl}/api/requests`)).json()) as { requests: { id: string; status: string; files?: string[] }[] };
    assert.deepEqual(page.requests.find((r) => r.id === firstId)?.status, 'completed');
    const manifest = await fetch(`${webUrl}/api/requests/${firstId}/files/manifest.json`);
    assert.equal(manifest.status, 200, 'the mosaics, read-only from ./output');
    assert.equal(((await manifest.json()) as { requestId: string }).requestId, firstId);
    const body = JSON.stringify({ bands: { red: '/data/input/L7_ETMs.tif#3', nir: '/data/input/L7_ETMs.tif#4' }, indices: ['ndvi'] });
    const refused = await fetch(`${webUrl}/api/requests`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(refused.status, 401);
    assert.match(await (await fetch(`${webUrl}/`)).text(), /Mosaic requests/);
    assert.match(await (await fetch(`${webUrl}/metrics`)).text(), /^tessera_requests\{status="completed"\} [1-9]/m);
  });

  test('the published gRPC port refuses TileService calls without the worker token, or with a wrong one', async () => {
    for (const auth of [undefined, { credentials: grpc.credentials.createInsecure(), token: randomBytes(32).toString('hex') }]) {
      const client = createTileServiceClient(grpcAddress, 8 * 1024 * 1024, auth);
      try {
        const code = await new Promise<number | undefined>((resolve) => {
          client.GetTask({ workerId: 'outsider' }, { deadline: Date.now() + 10_000 }, (error) => resolve(error?.code));
        });
        assert.equal(code, grpc.status.UNAUTHENTICATED, auth ? 'a wrong token' : 'no token');
      } finally {
        client.close();
      }
    }
    const logs = await compose(['logs', '--no-color', 'master'], 60_000);
    assert.match(logs, /refused an unauthenticated TileService call/);
    assert.ok(!logs.includes(workerToken), 'the master\'s log shows the token');
  });

  test('both images run tessera as a non-root user, have tessera on the PATH, and ship no dev dependencies', async () => {
    for (const service of ['master', 'worker']) {
      // The process's own user (the master's entrypoint starts as root, then drops to TESSERA_USER).
      const report = await compose(['exec', '-T', service, 'sh', '-c', "awk '/^Uid:/ {print $2}' /proc/1/status; command -v tessera; test -e node_modules/typescript && echo dev || echo prod"], 60_000);
      const [uid, tessera, deps] = report.trim().split('\n');
      assert.notEqual(uid, '0', `${service} runs tessera as root`);
      assert.equal(tessera, '/usr/local/bin/tessera', service);
      assert.equal(deps, 'prod', `${service} ships dev dependencies`);
    }
  });

  test('scaled down to 1 worker, the next request still completes', async () => {
    await compose(['up', '-d', '--scale', 'worker=1']);
    const ids = (await compose(['ps', '-q', 'worker'])).trim().split('\n').filter(Boolean);
    assert.equal(ids.length, 1);
    await waitHealthy('worker'); // its HEALTHCHECK: the poll loop's liveness file is fresh
    const summary = JSON.parse((await inMaster([...submitArgs(128), '--wait', '--json'])).trim().split('\n').pop() ?? '') as Summary;
    assert.equal(summary.status, 'completed', summary.error ?? '');
    assert.equal(Object.keys(summary.workerTiles).length, 1);
  });

  test('docker-compose down in the middle of a request leaves no row running', async () => {
    const id = (await inMaster(submitArgs(1))).trim(); // 352 one-row strips: long enough to stop it half-way
    for (let i = 0; ; i += 1) {
      const [status, done] = (await psql(`SELECT status, tiles_done FROM mosaic_requests WHERE id = ${id}`)).split('|');
      if (status === 'running' && Number(done) > 0) break;
      assert.ok(i < 300, `request ${id} never got going (${status})`);
      await sleep(100);
    }
    await compose(['down'], 3 * 60_000); // keeps the named volume
    await compose(['up', '-d', 'db']);
    await waitHealthy('db');
    assert.equal(await psql(`SELECT count(*) FROM mosaic_requests WHERE status = 'running'`), '0');
    assert.match(await psql(`SELECT status FROM mosaic_requests WHERE id = ${id}`), /^(pending|completed)$/);
  });
});
