/**
 * Authenticated workers, over real gRPC on 127.0.0.1: with a worker token every TileService call
 * without it (or with a wrong or malformed one) is UNAUTHENTICATED and changes nothing — the
 * dispatcher's counts and the tile's own counters show no hand-out, no parked poll, no source read,
 * no result or error report looked at — while the token holder's calls work; with TLS a worker
 * without the CA cannot connect; with mutual TLS one without a client certificate cannot;
 * `tessera health master` needs no token and works over TLS given the CA (and a client certificate
 * for mutual TLS); and no log line, the master's or a worker's, ever shows a token.
 *
 * Certificates are made with openssl in a temporary folder (skipped, saying so, without openssl).
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomFillSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { loadServerTls, type ServerTls } from '../../master/dispatch/server-credentials.js';
import { TileDispatcher, type TileOffer, type TileOutcome } from '../../master/dispatch/tile-dispatcher.js';
import { startTileServer } from '../../master/dispatch/tile-server.js';
import { ConfigError } from '../../shared/errors.js';
import { loadChannelCredentials } from '../../shared/proto/client-credentials.js';
import { createTileServiceClient, type ClientAuth, type IndexTile, type SourceChunk, type TileServiceClient } from '../../shared/proto/tile-service.js';
import type { ProcessedTile } from '../../worker/tile-processor.js';
import { TileWorker } from '../../worker/tile-worker.js';
import { runCli, spawnCli } from '../support/cli.js';
import { stopProcesses } from '../support/cluster.js';
import { captureLog, type LogCapture, type LogRecord } from '../support/log-capture.js';
import { makeTestCertificates, opensslAvailable, type TestCertificates } from '../support/test-certificates.js';
import { codeOf, getTask, readSources, submitResult, type Claim } from '../support/tile-calls.js';

const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
const TIMEOUT = { timeout: 30_000 };
const TOKEN = randomBytes(32).toString('hex');
const WRONG_TOKEN = randomBytes(32).toString('hex'); // the same length as TOKEN
const SHORT_TOKEN = 'not-the-token-at-all';
const REFUSED = 'refused an unauthenticated TileService call';
/** No TLS from the environment of the tests' own shell: each test says what it wants. */
const NO_TLS_ENV = { MASTER_TLS_CA: '', WORKER_TLS_CERT: '', WORKER_TLS_KEY: '', WORKER_TOKEN: '' } as const;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** No secret, and no authorization value, in any of the lines. */
function assertNoSecrets(lines: readonly string[], what: string): void {
  const text = lines.join('\n');
  for (const secret of [TOKEN, WRONG_TOKEN, SHORT_TOKEN]) assert.ok(!text.includes(secret), `${what} shows a token`);
  assert.doesNotMatch(text, /Bearer|Basic /, `${what} shows an authorization value`);
}

interface TestMaster {
  readonly dispatcher: TileDispatcher;
  readonly address: string;
  readonly log: LogCapture;
}

async function startMaster(t: TestContext, options: { token?: string; tls?: ServerTls; maxAttempts?: number } = {}): Promise<TestMaster> {
  const log = captureLog();
  const dispatcher = new TileDispatcher({ leaseMs: 20_000, maxAttempts: options.maxAttempts ?? 3, log: log.logger });
  const server = await startTileServer({
    dispatcher,
    listen: '127.0.0.1:0',
    longPollMs: 30_000, // longer than any test: a call that parked would time the test out
    maxMessageBytes: MAX_MESSAGE_BYTES,
    log: log.logger,
    workerToken: options.token,
    tls: options.tls,
  });
  t.after(() => server.stop({ timeoutMs: 1_000 }));
  return { dispatcher, address: `127.0.0.1:${server.port}`, log };
}

/** A tile whose source reads and accepted results are counted. */
function trackedTile(tileIndex: number): { offer: TileOffer; sourcesOpened: () => number; accepted: string[] } {
  let opened = 0;
  const accepted: string[] = [];
  const offer: TileOffer = {
    requestId: 'req',
    claim: 1,
    tileIndex,
    task: { width: 8, height: 8, indices: ['ndvi'] },
    sources: () => {
      opened += 1;
      return (async function* (): AsyncGenerator<SourceChunk> {})();
    },
    accept: async (result) => {
      accepted.push(result.workerId);
    },
  };
  return { offer, sourcesOpened: () => opened, accepted };
}

function fakeIndexTile(): IndexTile {
  return { index: 'ndvi', png: randomFillSync(Buffer.alloc(64)), stats: { validPixels: 1, min: 0, max: 0, sum: 0 } };
}

function fakeProcessed(): ProcessedTile {
  return { tiles: [fakeIndexTile()], timings: { decodeMs: 0, computeMs: 0, encodeMs: 0, receiveMs: 0, cpuMs: 0 } };
}

function tileClient(t: TestContext, address: string, auth?: ClientAuth): TileServiceClient {
  const client = createTileServiceClient(address, MAX_MESSAGE_BYTES, auth);
  t.after(() => client.close());
  return client;
}

/** Clients that must get nowhere: no token, wrong ones, malformed authorization metadata. */
function outsiders(t: TestContext, address: string, credentials = grpc.credentials.createInsecure()): { name: string; client: TileServiceClient; metadata: () => grpc.Metadata }[] {
  const plain = tileClient(t, address, { credentials });
  const withValues = (...values: string[]) => (): grpc.Metadata => {
    const metadata = new grpc.Metadata();
    for (const value of values) metadata.set('authorization', value);
    return metadata;
  };
  return [
    { name: 'no token', client: plain, metadata: withValues() },
    { name: 'a wrong token of the same length', client: tileClient(t, address, { credentials, token: WRONG_TOKEN }), metadata: withValues() },
    { name: 'a short wrong token', client: tileClient(t, address, { credentials, token: SHORT_TOKEN }), metadata: withValues() },
    { name: 'the token under another scheme', client: plain, metadata: withValues(`Basic ${TOKEN}`) },
    // grpc-js will not send two authorization values; an HTTP/2 peer's duplicates arrive joined like this.
    { name: 'the token with a second value joined to it', client: plain, metadata: withValues(`Bearer ${TOKEN}, Bearer ${WRONG_TOKEN}`) },
  ];
}

/** A TileWorker (fake tile computation) with its own log, stopped when the test ends. */
function startWorker(t: TestContext, address: string, workerId: string, auth: ClientAuth): { worker: TileWorker; log: LogCapture } {
  const log = captureLog();
  const worker = new TileWorker({
    client: createTileServiceClient(address, MAX_MESSAGE_BYTES, auth),
    workerId,
    concurrency: 1,
    pollDeadlineMs: 25_000,
    log: log.logger,
    backoff: { initialMs: 50, maxMs: 400 },
    process: async () => fakeProcessed(),
  });
  worker.start();
  t.after(() => worker.stop({ graceful: false }));
  return { worker, log };
}

/** Resolves with everything the child wrote to stderr once a line matches; rejects if it exits first. */
function stderrUntil(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      if (!pattern.test(text)) return;
      child.stderr?.off('data', onData);
      resolve(text);
    };
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited (${code}) before writing ${pattern}:\n${text}`)));
  });
}

/** Everything the child writes to stderr from now until it exits. */
function collectStderr(child: ChildProcess): { text: () => string } {
  let text = '';
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { text: () => text };
}

const insecure = (token?: string): ClientAuth => ({ credentials: grpc.credentials.createInsecure(), token });
const counts = (master: TestMaster): ReturnType<TileDispatcher['counts']> => master.dispatcher.counts();
const refusalLines = (master: TestMaster): LogRecord[] => master.log.records().filter((record) => record['msg'] === REFUSED);

// ---------------------------------------------------------------------------------------------
// The worker token
// ---------------------------------------------------------------------------------------------

test('without the token, or with a wrong one, every TileService call is UNAUTHENTICATED and changes nothing', TIMEOUT, async (t) => {
  const master = await startMaster(t, { token: TOKEN });
  const strangers = outsiders(t, master.address);

  // No tile yet: a refused GetTask ends at once instead of parking for the 30 s hold.
  for (const stranger of strangers) {
    assert.equal(await codeOf(getTask(stranger.client, stranger.metadata(), 'stranger')), grpc.status.UNAUTHENTICATED, stranger.name);
    assert.deepEqual(counts(master), { ready: 0, leased: 0, waitingWorkers: 0 }, `${stranger.name}: no long poll parked`);
  }

  // A tile waits: refused calls do not take it.
  const tile = trackedTile(0);
  const outcome = master.dispatcher.dispatch(tile.offer);
  for (const stranger of strangers) {
    assert.equal(await codeOf(getTask(stranger.client, stranger.metadata(), 'stranger')), grpc.status.UNAUTHENTICATED, stranger.name);
  }
  assert.deepEqual(counts(master), { ready: 1, leased: 0, waitingWorkers: 0 }, 'no tile handed out');

  // The token holder takes it; strangers naming the holder's lease read nothing and report nothing.
  const insider = tileClient(t, master.address, insecure(TOKEN));
  const task = (await getTask(insider, new grpc.Metadata(), 'insider')).task;
  assert.ok(task);
  assert.deepEqual(counts(master), { ready: 0, leased: 1, waitingWorkers: 0 });
  const claim: Claim = { workerId: 'insider', taskId: task.taskId, attempt: task.attempt };
  for (const stranger of strangers) {
    assert.equal(await codeOf(readSources(stranger.client, stranger.metadata(), claim)), grpc.status.UNAUTHENTICATED, stranger.name);
    assert.equal(await codeOf(submitResult(stranger.client, stranger.metadata(), { ...claim, tiles: [fakeIndexTile()] })), grpc.status.UNAUTHENTICATED);
    assert.equal(await codeOf(submitResult(stranger.client, stranger.metadata(), { ...claim, error: 'forged failure' })), grpc.status.UNAUTHENTICATED);
  }
  assert.equal(tile.sourcesOpened(), 0, 'no source data read for a stranger');
  assert.deepEqual(tile.accepted, [], 'no stranger\'s result looked at');
  assert.deepEqual(counts(master), { ready: 0, leased: 1, waitingWorkers: 0 }, 'no forged error report put the tile back');

  // The holder's own calls go through.
  assert.deepEqual(await readSources(insider, new grpc.Metadata(), claim), []);
  assert.equal(tile.sourcesOpened(), 1);
  assert.deepEqual(await submitResult(insider, new grpc.Metadata(), { ...claim, tiles: [fakeIndexTile()] }), { accepted: true, reason: '' });
  assert.deepEqual(await outcome, { workerId: 'insider', attempt: 1 } satisfies TileOutcome);

  // Every refused call came from one address: one log line, saying why, and never what was sent.
  const lines = refusalLines(master);
  assert.equal(lines.length, 1, JSON.stringify(lines));
  assert.equal(lines[0]?.['peer'], '127.0.0.1');
  assert.equal(lines[0]?.['method'], 'GetTask');
  assert.equal(lines[0]?.['reason'], 'missing');
  assertNoSecrets(master.log.lines, 'the master\'s log');
});

test('with the token a TileWorker takes, computes and returns tiles; health needs no token; no log shows the token', TIMEOUT, async (t) => {
  const master = await startMaster(t, { token: TOKEN });
  const tiles = [0, 1, 2].map(trackedTile);
  const outcomes = tiles.map((tile) => master.dispatcher.dispatch(tile.offer));
  const { log: workerLog } = startWorker(t, master.address, 'trusted', insecure(TOKEN));
  assert.deepEqual(await Promise.all(outcomes), [0, 1, 2].map(() => ({ workerId: 'trusted', attempt: 1 })));
  assert.deepEqual(tiles.map((tile) => [tile.sourcesOpened(), tile.accepted]), [0, 1, 2].map(() => [1, ['trusted']]));

  const health = await runCli(['health', 'master', '--address', master.address], NO_TLS_ENV);
  assert.equal(health.code, 0, health.stdout + health.stderr);
  assert.match(health.stdout, /SERVING/);

  assert.deepEqual(refusalLines(master), []);
  assert.ok(master.log.records().some((record) => record['msg'] === 'tile service listening' && record['workerToken'] === 'required'));
  assertNoSecrets(master.log.lines, 'the master\'s log');
  assertNoSecrets(workerLog.lines, 'the worker\'s log');
});

test('`tessera worker` with a wrong token logs that the master refused it; with the right one it works; neither log shows a token', TIMEOUT, async (t) => {
  const master = await startMaster(t, { token: TOKEN, maxAttempts: 1 });
  const tile = trackedTile(0);
  const outcome = master.dispatcher.dispatch(tile.offer);
  const workers: ChildProcess[] = [];
  t.after(() => stopProcesses(workers));

  const refused = spawnCli(['worker', '--master', master.address], { ...NO_TLS_ENV, WORKER_TOKEN: WRONG_TOKEN, LOG_LEVEL: 'debug' });
  workers.push(refused);
  const refusedLog = await stderrUntil(refused, /the master refused this worker: WORKER_TOKEN missing or not the master's/);
  await stopProcesses([refused]);
  assert.match(refusedLog, /wrong worker token: set WORKER_TOKEN on this worker to the master's/);
  assert.deepEqual(counts(master), { ready: 1, leased: 0, waitingWorkers: 0 });
  assertNoSecrets(refusedLog.split('\n'), 'the refused worker\'s log');

  // The right token: the real worker gets the tile and its sources, and reports (this made-up tile
  // has no bands, so the report is a failure, which is recorded: every call went through).
  const trusted = spawnCli(['worker', '--master', master.address], { ...NO_TLS_ENV, WORKER_TOKEN: TOKEN, LOG_LEVEL: 'debug' });
  workers.push(trusted);
  const trustedLog = collectStderr(trusted);
  await assert.rejects(outcome, /has no band/);
  assert.equal(tile.sourcesOpened(), 1);
  await stopProcesses([trusted]);
  assert.match(trustedLog.text(), /"workerToken":"set"/);
  assertNoSecrets(trustedLog.text().split('\n'), 'the trusted worker\'s log');
  assertNoSecrets(master.log.lines, 'the master\'s log');
});

// ---------------------------------------------------------------------------------------------
// TLS and mutual TLS
// ---------------------------------------------------------------------------------------------

describe('TLS', () => {
  let dir: string;
  let certs: TestCertificates | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-tls-'));
    if (await opensslAvailable()) certs = await makeTestCertificates(dir);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const caOnly = (c: TestCertificates): Promise<grpc.ChannelCredentials> =>
    loadChannelCredentials({ masterTlsCa: c.ca, workerTlsCert: undefined, workerTlsKey: undefined });

  test('a worker without the CA cannot connect; with it and the token the normal flow works; health master works given the CA', TIMEOUT, async (t) => {
    if (!certs) return t.skip('openssl is not installed');
    const tls = await loadServerTls({ grpcTlsCert: certs.serverCert, grpcTlsKey: certs.serverKey, grpcTlsCa: undefined });
    const master = await startMaster(t, { token: TOKEN, tls });
    assert.ok(master.log.records().some((record) => record['msg'] === 'tile service listening' && record['transport'] === 'tls'));
    const tile = trackedTile(0);
    const outcome = master.dispatcher.dispatch(tile.offer);

    // Plain gRPC to the TLS port, TLS trusting only the system's CAs, TLS trusting another CA.
    const { log: plainLog } = startWorker(t, master.address, 'plain', insecure(TOKEN));
    await plainLog.seen((record) => record['msg'] === 'master unreachable; retrying');
    const rogueTrust = await loadChannelCredentials({ masterTlsCa: certs.rogueCa, workerTlsCert: undefined, workerTlsKey: undefined });
    for (const credentials of [grpc.credentials.createSsl(), rogueTrust]) {
      const client = tileClient(t, master.address, { credentials, token: TOKEN });
      assert.equal(await codeOf(getTask(client, new grpc.Metadata(), 'untrusting')), grpc.status.UNAVAILABLE);
    }
    assert.deepEqual(counts(master), { ready: 1, leased: 0, waitingWorkers: 0 }, 'no tile handed out');

    // Over TLS the token is still required.
    for (const stranger of outsiders(t, master.address, await caOnly(certs))) {
      assert.equal(await codeOf(getTask(stranger.client, stranger.metadata(), 'stranger')), grpc.status.UNAUTHENTICATED, stranger.name);
    }

    startWorker(t, master.address, 'trusted', { credentials: await caOnly(certs), token: TOKEN });
    assert.deepEqual(await outcome, { workerId: 'trusted', attempt: 1 });

    const withCa = await runCli(['health', 'master', '--address', master.address, '--ca', certs.ca], NO_TLS_ENV);
    assert.equal(withCa.code, 0, withCa.stdout + withCa.stderr);
    assert.match(withCa.stdout, /SERVING/);
    const fromEnv = await runCli(['health', 'master', '--address', master.address], { ...NO_TLS_ENV, MASTER_TLS_CA: certs.ca }); // the image's HEALTHCHECK
    assert.equal(fromEnv.code, 0, fromEnv.stdout + fromEnv.stderr);
    const withoutCa = await runCli(['health', 'master', '--address', master.address, '--timeout-ms', '2000'], NO_TLS_ENV);
    assert.equal(withoutCa.code, 1, withoutCa.stdout);
    assert.match(withoutCa.stdout, /unreachable/);
    assertNoSecrets(master.log.lines, 'the master\'s log');
  });

  test('mutual TLS: a worker without a client certificate, or with one another CA signed, cannot connect; with one it can', TIMEOUT, async (t) => {
    if (!certs) return t.skip('openssl is not installed');
    const tls = await loadServerTls({ grpcTlsCert: certs.serverCert, grpcTlsKey: certs.serverKey, grpcTlsCa: certs.ca });
    const master = await startMaster(t, { token: TOKEN, tls });
    assert.ok(master.log.records().some((record) => record['msg'] === 'tile service listening' && record['transport'] === 'mutual-tls'));
    const tile = trackedTile(0);
    const outcome = master.dispatcher.dispatch(tile.offer);

    const { log: noCertLog } = startWorker(t, master.address, 'no-certificate', { credentials: await caOnly(certs), token: TOKEN });
    await noCertLog.seen((record) => record['msg'] === 'master unreachable; retrying');
    const rogueCert = await loadChannelCredentials({ masterTlsCa: certs.ca, workerTlsCert: certs.rogueClientCert, workerTlsKey: certs.rogueClientKey });
    assert.equal(await codeOf(getTask(tileClient(t, master.address, { credentials: rogueCert, token: TOKEN }), new grpc.Metadata(), 'rogue')), grpc.status.UNAVAILABLE);
    assert.deepEqual(counts(master), { ready: 1, leased: 0, waitingWorkers: 0 }, 'no tile handed out');

    const certified = await loadChannelCredentials({ masterTlsCa: certs.ca, workerTlsCert: certs.clientCert, workerTlsKey: certs.clientKey });
    assert.equal(await codeOf(getTask(tileClient(t, master.address, { credentials: certified }), new grpc.Metadata(), 'no-token')), grpc.status.UNAUTHENTICATED);
    startWorker(t, master.address, 'certified', { credentials: certified, token: TOKEN });
    assert.deepEqual(await outcome, { workerId: 'certified', attempt: 1 });

    const caOnlyHealth = await runCli(['health', 'master', '--address', master.address, '--ca', certs.ca, '--timeout-ms', '2000'], NO_TLS_ENV);
    assert.equal(caOnlyHealth.code, 1, caOnlyHealth.stdout);
    const withCert = await runCli(['health', 'master', '--address', master.address, '--ca', certs.ca, '--cert', certs.clientCert, '--key', certs.clientKey], NO_TLS_ENV);
    assert.equal(withCert.code, 0, withCert.stdout + withCert.stderr);
    const fromEnv = await runCli(['health', 'master', '--address', master.address], {
      ...NO_TLS_ENV,
      MASTER_TLS_CA: certs.ca,
      WORKER_TLS_CERT: certs.clientCert,
      WORKER_TLS_KEY: certs.clientKey,
    });
    assert.equal(fromEnv.code, 0, fromEnv.stdout + fromEnv.stderr);
  });

  test('a missing file, a file that is not PEM, or a key that is not the certificate\'s is a ConfigError naming the variable', TIMEOUT, async (t) => {
    if (!certs) return t.skip('openssl is not installed');
    const notPem = join(dir, 'not-pem.txt');
    await writeFile(notPem, 'hello\n');
    const configError = (variable: string, pattern: RegExp) => (error: unknown): boolean => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.equal(error.variable, variable);
      assert.match(error.message, pattern);
      return true;
    };
    await assert.rejects(loadServerTls({ grpcTlsCert: join(dir, 'missing.crt'), grpcTlsKey: certs.serverKey, grpcTlsCa: undefined }), configError('GRPC_TLS_CERT', /ENOENT/));
    await assert.rejects(loadServerTls({ grpcTlsCert: certs.serverCert, grpcTlsKey: certs.clientKey, grpcTlsCa: undefined }), configError('GRPC_TLS_KEY', /not a usable certificate and key/));
    await assert.rejects(loadServerTls({ grpcTlsCert: certs.serverCert, grpcTlsKey: certs.serverKey, grpcTlsCa: notPem }), configError('GRPC_TLS_CA', /not a PEM file/));
    await assert.rejects(loadChannelCredentials({ masterTlsCa: notPem, workerTlsCert: undefined, workerTlsKey: undefined }), configError('MASTER_TLS_CA', /not a PEM file/));

    const worker = await runCli(['worker'], { ...NO_TLS_ENV, MASTER_TLS_CA: join(dir, 'missing-ca.crt') }, 20_000);
    assert.equal(worker.code, 2, worker.stderr);
    assert.match(worker.stderr, /tessera: configuration error: MASTER_TLS_CA: cannot read a CA certificate .*missing-ca\.crt: ENOENT/);
  });
});
