/**
 * TileService over real gRPC on loopback: the master's TileServer + TileDispatcher on one side,
 * raw clients and TileWorkers on the other. No database, no files: tiles are offered to the
 * dispatcher directly.
 *
 * Where a worker is used, its `process` function is injected. It is a stand-in for the real tile
 * computation (covered by the unit tests and the end-to-end integration tests): here it only checks
 * what arrived, takes some time, and returns a made-up result.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { TileDispatcher, taskIdOf, type TileOffer, type TileOutcome } from '../../master/dispatch/tile-dispatcher.js';
import { startTileServer, TILE_SERVICE_NAME, type TileServer } from '../../master/dispatch/tile-server.js';
import { crc32, verifyCrc32 } from '../../shared/checksum.js';
import { createLogger, type Logger } from '../../shared/logger.js';
import { packageRoot } from '../../shared/package-root.js';
import {
  createTileServiceClient,
  type GetTaskResponse__Output,
  type SourceChunk,
  type SourceChunk__Output,
  type SubmitResultRequest__Output,
  type TileServiceClient,
  type TileTask__Output,
} from '../../shared/proto/tile-service.js';
import type { ProcessedTile, SourceStream } from '../../worker/tile-processor.js';
import { TileWorker } from '../../worker/tile-worker.js';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const HOST = '127.0.0.1';
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
const GRPC_DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
const TEST_TIMEOUT_MS = 10_000;
const log = createLogger('tile-service-test', (process.env['TEST_LOG_LEVEL'] as 'silent' | undefined) ?? 'silent');

interface Master {
  readonly dispatcher: TileDispatcher;
  readonly server: TileServer;
  readonly address: string;
  /** stop() once; later calls (the test's own and the cleanup's) share the first. */
  stop(timeoutMs?: number): Promise<void>;
}

/** A TileServer over a fresh TileDispatcher on loopback, stopped when the test ends. */
async function startMaster(
  t: TestContext,
  { port = 0, longPollMs = 2_000, leaseMs = 5_000, maxAttempts = 3 } = {},
): Promise<Master> {
  const dispatcher = new TileDispatcher({ leaseMs, maxAttempts, log });
  const server = await startTileServer({ dispatcher, listen: `${HOST}:${port}`, longPollMs, maxMessageBytes: MAX_MESSAGE_BYTES, log });
  let stopping: Promise<void> | undefined;
  const master: Master = {
    dispatcher,
    server,
    address: `${HOST}:${server.port}`,
    stop: (timeoutMs = 1_000) => (stopping ??= server.stop({ timeoutMs })),
  };
  t.after(() => within(5_000, 'stopping the master after the test', master.stop()));
  return master;
}

/** A TileService client with tessera's own channel options, closed when the test ends. */
function tileClient(t: TestContext, address: string): TileServiceClient {
  const client = createTileServiceClient(address, MAX_MESSAGE_BYTES);
  t.after(() => client.close());
  return client;
}

/** One raw GetTask: the call (to cancel it) and its outcome. */
function getTask(
  client: TileServiceClient,
  workerId: string,
  deadlineMs: number,
): { call: grpc.ClientUnaryCall; response: Promise<GetTaskResponse__Output> } {
  let call!: grpc.ClientUnaryCall;
  const response = new Promise<GetTaskResponse__Output>((resolve, reject) => {
    call = client.GetTask({ workerId }, { deadline: Date.now() + deadlineMs }, (error, value) =>
      error ? reject(error) : value ? resolve(value) : reject(new Error('empty GetTask response')),
    );
  });
  response.catch(() => undefined); // observed by the test when it cares
  return { call, response };
}

/** Rejects with the gRPC status of a failed call, or fails when the call succeeded. */
async function grpcErrorOf(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (error) {
    assert.equal(typeof (error as grpc.ServiceError).code, 'number', `not a gRPC error: ${String(error)}`);
    return error as grpc.ServiceError;
  }
  assert.fail('expected the call to fail');
}

/** Polls `condition` every 10 ms until it holds, failing after `timeoutMs`. */
async function waitFor(what: string, condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > giveUpAt) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Rejects when `promise` has not settled within `ms`. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A tile with no source data to stream. */
async function* noSources(): AsyncGenerator<SourceChunk> {}

/** A small tile offer; `accept` records which worker's result was taken. */
function smallOffer(tileIndex: number, accepted: string[] = []): TileOffer {
  return {
    requestId: 'req',
    claim: 1,
    tileIndex,
    task: { width: 8, height: 8, indices: ['ndvi'] },
    sources: noSources,
    accept: async (result) => {
      accepted.push(result.workerId);
    },
  };
}

/** A made-up processed tile whose "PNG" is `pngBytes` random bytes (nothing here parses it). */
function fakeProcessedTile(pngBytes = 64): ProcessedTile {
  const png = randomFillSync(Buffer.alloc(pngBytes));
  return {
    tiles: [{ index: 'ndvi', png, stats: { validPixels: 1, min: 0, max: 0, sum: 0 } }],
    timings: { decodeMs: 0, computeMs: 0, encodeMs: 0, receiveMs: 0, cpuMs: 0 },
  };
}

/** A TileWorker on its own channel, stopped (not gracefully) when the test ends. */
function startWorker(
  t: TestContext,
  address: string,
  workerId: string,
  compute: (task: TileTask__Output, sources: SourceStream) => Promise<ProcessedTile>,
  workerLog: Logger = log,
): TileWorker {
  const worker = new TileWorker({
    client: createTileServiceClient(address, MAX_MESSAGE_BYTES),
    workerId,
    concurrency: 1,
    pollDeadlineMs: 10_000,
    log: workerLog,
    backoff: { initialMs: 50, maxMs: 400 },
    process: compute,
  });
  worker.start();
  t.after(() => worker.stop({ graceful: false }));
  return worker;
}

/** A pino logger that keeps every record (debug and up) in memory. */
function recordingLogger(): { logger: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void records.push(JSON.parse(line)) });
  return { logger, records };
}

/** A loopback port nobody listens on (bound, then released). */
async function reserveFreePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(0, HOST, resolve));
  const address = probe.address();
  assert.ok(address && typeof address === 'object');
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return address.port;
}

interface HealthClient extends grpc.Client {
  Check(
    request: { service: string },
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, response?: { status: string }) => void,
  ): grpc.ClientUnaryCall;
  Watch(request: { service: string }): grpc.ClientReadableStream<{ status: string }>;
  List(
    request: Record<string, never>,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, response?: { statuses: Record<string, { status: string }> }) => void,
  ): grpc.ClientUnaryCall;
}

/** A grpc.health.v1 client built from the grpc-health-check package's own proto file. */
function healthClient(t: TestContext, address: string): HealthClient {
  const definition = protoLoader.loadSync(healthProtoPath, { keepCase: true, enums: String, defaults: true, oneofs: true });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { health: { v1: { Health: new (address: string, credentials: grpc.ChannelCredentials) => HealthClient } } };
  };
  const client = new loaded.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
  t.after(() => client.close());
  return client;
}

function check(client: HealthClient, service: string): Promise<string> {
  return new Promise((resolve, reject) => {
    client.Check({ service }, { deadline: Date.now() + 2_000 }, (error, response) =>
      error ? reject(error) : resolve(response?.status ?? '(no response)'),
    );
  });
}

/**
 * A separate Node process that parks one GetTask (60 s deadline) and never does anything else.
 * Plain JavaScript on grpc-js, so it runs the same under tsx and from dist/. `kill()` is idempotent
 * and also runs when the test ends.
 */
function spawnParkedPoller(t: TestContext, address: string): { child: ChildProcess; kill(): Promise<void> } {
  const script = `
    import * as grpc from '@grpc/grpc-js';
    import * as protoLoader from '@grpc/proto-loader';
    const definition = protoLoader.loadSync(${JSON.stringify(join(packageRoot(), 'proto', 'tessera.proto'))});
    const { tessera } = grpc.loadPackageDefinition(definition);
    const client = new tessera.v1.TileService(${JSON.stringify(address)}, grpc.credentials.createInsecure());
    client.GetTask({ worker_id: 'frozen' }, { deadline: Date.now() + 60000 }, () => {});
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: packageRoot(), stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  t.after(kill);
  return { child, kill };
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

test('grpc.health.v1: SERVING while up, NOT_SERVING during stop(), unavailable after', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const master = await startMaster(t);
  const health = healthClient(t, master.address);

  assert.equal(await check(health, ''), 'SERVING');
  assert.equal(await check(health, TILE_SERVICE_NAME), 'SERVING');
  assert.equal((await grpcErrorOf(check(health, 'no.such.Service'))).code, grpc.status.NOT_FOUND);
  const listed = await new Promise<Record<string, { status: string }>>((resolve, reject) =>
    health.List({}, { deadline: Date.now() + 2_000 }, (error, response) => (error ? reject(error) : resolve(response?.statuses ?? {}))),
  );
  assert.deepEqual(listed, { '': { status: 'SERVING' }, [TILE_SERVICE_NAME]: { status: 'SERVING' } });
  // Watching a name the master does not know: SERVICE_UNKNOWN, and the call stays open (the protocol's rule).
  const unknown = health.Watch({ service: 'no.such.Service' });
  unknown.on('error', () => undefined); // CANCELLED, below
  const [first] = (await once(unknown, 'data')) as [{ status: string }];
  assert.equal(first.status, 'SERVICE_UNKNOWN');
  unknown.cancel();

  // A Watch stream sees the switch to NOT_SERVING that stop() makes before it shuts down.
  const watch = health.Watch({ service: TILE_SERVICE_NAME });
  const seen: string[] = [];
  watch.on('data', (message: { status: string }) => seen.push(message.status));
  watch.on('error', () => undefined); // CANCELLED, below
  await waitFor('the first Watch status', () => seen.length > 0);
  assert.deepEqual(seen, ['SERVING']);

  const started = Date.now();
  const stopped = master.stop(5_000);
  await waitFor('NOT_SERVING on the Watch stream', () => seen.includes('NOT_SERVING'));
  watch.cancel(); // a cooperative client: the graceful shutdown need not wait for the timeout
  await stopped;
  assert.ok(Date.now() - started < 2_000, `graceful stop took ${Date.now() - started} ms`);

  const after = await grpcErrorOf(check(health, TILE_SERVICE_NAME));
  assert.equal(after.code, grpc.status.UNAVAILABLE);
});

test('GetTask with no work answers NoTask after the hold time; a shorter deadline ends it first', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const longPollMs = 500;
  const master = await startMaster(t, { longPollMs });
  const client = tileClient(t, master.address);
  // Warm the channel up so connection set-up does not count against the timings below.
  assert.equal((await getTask(client, 'warm-up', 5_000).response).outcome, 'noTask');

  let started = Date.now();
  const empty = await getTask(client, 'idle', 5_000).response;
  const held = Date.now() - started;
  assert.equal(empty.outcome, 'noTask');
  assert.ok(!empty.task, 'a tile came back although none was offered');
  assert.equal(empty.noTask?.retryAfterMs, 0);
  assert.ok(held >= longPollMs - 20, `answered after ${held} ms, before the ${longPollMs} ms hold`);
  assert.ok(held < longPollMs + 1_000, `answered after ${held} ms, long after the ${longPollMs} ms hold`);

  // A deadline shorter than the hold: the call ends DEADLINE_EXCEEDED at the deadline, not the hold.
  started = Date.now();
  const expired = await grpcErrorOf(getTask(client, 'impatient', 100).response);
  const waited = Date.now() - started;
  assert.equal(expired.code, grpc.status.DEADLINE_EXCEEDED);
  assert.ok(waited >= 90 && waited < longPollMs, `DEADLINE_EXCEEDED after ${waited} ms`);

  // ...and the master forgets that poll, so a tile offered now is not leased to the dead call.
  await waitFor('the expired poll to leave the dispatcher', () => master.dispatcher.counts().waitingWorkers === 0);
  const outcome = master.dispatcher.dispatch(smallOffer(0));
  const next = await getTask(client, 'next', 5_000).response;
  assert.equal(next.task?.taskId, 'req/1/0');
  assert.equal(next.task?.attempt, 1);
  master.dispatcher.cancelRequest('req', new Error('test over'));
  await assert.rejects(outcome, /test over/);
});

test('source data streams in chunks under backpressure; a result over the 4 MB gRPC default passes', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const master = await startMaster(t, { maxAttempts: 1 });
  // 3 bands of 1024² uint16 (6 MB, more than grpc-js's 4 MB default in one message) in 2 MB parts.
  const parts = [0, 1, 2].map(() => randomFillSync(Buffer.alloc(1024 * 1024 * 2)));
  const resultPngBytes = 5 * 1024 * 1024;
  assert.ok(resultPngBytes > GRPC_DEFAULT_MAX_MESSAGE_BYTES);
  let streamed = 0;
  const accepted: { workerId: string; pngBytes: number }[] = [];
  const outcome = master.dispatcher.dispatch({
    requestId: 'big',
    claim: 1,
    tileIndex: 0,
    task: { width: 1024, height: 1024, indices: ['ndvi'], sourceBytes: 6 * 1024 * 1024 },
    sources: async function* () {
      for (const [part, data] of parts.entries()) {
        yield { source: 0, part, data, checksum: crc32(data), last: true };
        streamed += 1;
      }
    },
    accept: async (result: SubmitResultRequest__Output) => {
      const tile = result.tiles[0];
      assert.ok(tile, 'result without tiles');
      accepted.push({ workerId: result.workerId, pngBytes: tile.png.length });
    },
  });

  const received: SourceChunk__Output[] = [];
  startWorker(t, master.address, 'big-worker', async (_task, sources) => {
    for await (const chunk of sources) {
      verifyCrc32(`part ${chunk.part}`, chunk.data, chunk.checksum); // a throw here reports the tile failed
      received.push(chunk);
    }
    return fakeProcessedTile(resultPngBytes);
  });

  assert.deepEqual(await outcome, { workerId: 'big-worker', attempt: 1 } satisfies TileOutcome);
  assert.equal(streamed, 3);
  assert.deepEqual(received.map((c) => [c.part, c.data.length]), parts.map((p, i) => [i, p.length]));
  assert.ok(received.every((c, i) => c.data.equals(parts[i]!)));
  assert.deepEqual(accepted, [{ workerId: 'big-worker', pngBytes: resultPngBytes }]);
});

test('ReadSources serves only the current lease holder: others get FAILED_PRECONDITION', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const master = await startMaster(t, { leaseMs: 5_000 });
  const client = tileClient(t, master.address);
  const data = Buffer.from('the strip’s blocks');
  const outcome = master.dispatcher.dispatch({
    ...smallOffer(0),
    sources: async function* () {
      yield { source: 0, part: 0, data, checksum: crc32(data), last: true };
    },
  });
  const task = (await getTask(client, 'holder', 5_000).response).task;
  assert.ok(task);
  const read = (workerId: string, attempt: number): Promise<SourceChunk__Output[]> =>
    new Promise((resolve, reject) => {
      const chunks: SourceChunk__Output[] = [];
      const call = client.ReadSources({ workerId, taskId: task.taskId, attempt }, { deadline: Date.now() + 5_000 });
      call.on('data', (chunk: SourceChunk__Output) => chunks.push(chunk));
      call.on('error', reject);
      call.on('end', () => resolve(chunks));
    });
  for (const [workerId, attempt] of [['intruder', 1], ['holder', 2], ['holder', 0]] as const) {
    const refused = await grpcErrorOf(read(workerId, attempt));
    assert.equal(refused.code, grpc.status.FAILED_PRECONDITION, `${workerId} attempt ${attempt}`);
    assert.match(refused.details, /does not hold attempt/);
  }
  const chunks = await read('holder', 1);
  assert.deepEqual(chunks.map((c) => c.data.toString()), [data.toString()]);
  master.dispatcher.cancelRequest('req', new Error('test over'));
  await assert.rejects(outcome, /test over/);
});

test('a worker started before the master retries with backoff and gets work once it listens', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const port = await reserveFreePort();
  const { logger, records } = recordingLogger();
  const worker = startWorker(t, `${HOST}:${port}`, 'early-bird', async () => fakeProcessedTile(), logger);

  // Nobody listens yet: the worker keeps failing, and its back-off grows.
  const retries = (): Record<string, unknown>[] => records.filter((r) => r['msg'] === 'master unreachable; retrying');
  await waitFor('three failed connection attempts', () => retries().length >= 3, 5_000);
  const [first, , third] = retries();
  assert.deepEqual([first?.['failures'], third?.['failures']], [1, 3]);
  // Backoff initialMs 50, doubling, full jitter over the upper half: the first delay is in [25, 50],
  // the third in [100, 200].
  const delays = [Number(first?.['retryInMs']), Number(third?.['retryInMs'])];
  assert.ok(delays[0]! <= 50 && delays[1]! >= 100, `backoff did not grow: ${delays.join(' ms, then ')} ms`);

  const master = await startMaster(t, { port });
  assert.equal(master.server.port, port);
  const accepted: string[] = [];
  const outcome = await within(6_000, 'the tile', master.dispatcher.dispatch(smallOffer(0, accepted)));
  assert.deepEqual(outcome, { workerId: 'early-bird', attempt: 1 });
  assert.deepEqual(accepted, ['early-bird']);
  assert.equal(worker.stats.tilesDone, 1);
  assert.ok(records.some((r) => r['msg'] === 'connected to master'), 'no "connected to master" log');
});

test('a cancelled GetTask is never handed a tile; the next poller gets it as attempt 1', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  // A short lease: had the cancelled poll been leased the tile, the worker would get attempt 2.
  const master = await startMaster(t, { longPollMs: 8_000, leaseMs: 500 });
  const raw = tileClient(t, master.address);

  const cancelled = getTask(raw, 'quitter', 9_000);
  await waitFor('the raw poll to park', () => master.dispatcher.counts().waitingWorkers === 1);
  const tasksSeen: TileTask__Output[] = [];
  startWorker(t, master.address, 'stayer', async (task) => {
    tasksSeen.push(task);
    return fakeProcessedTile();
  });
  await waitFor('the worker to park behind it', () => master.dispatcher.counts().waitingWorkers === 2);

  cancelled.call.cancel();
  assert.equal((await grpcErrorOf(cancelled.response)).code, grpc.status.CANCELLED);
  await waitFor('the master to drop the cancelled poll', () => master.dispatcher.counts().waitingWorkers === 1);

  const accepted: string[] = [];
  const outcome = await master.dispatcher.dispatch(smallOffer(0, accepted));
  assert.deepEqual(outcome, { workerId: 'stayer', attempt: 1 });
  assert.deepEqual(accepted, ['stayer']);
  assert.deepEqual(
    tasksSeen.map((task) => [task.taskId, task.attempt]),
    [['req/1/0', 1]],
  );
});

test('worker stop: graceful finishes the tile in hand; not graceful abandons it to the lease', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  /** A stand-in processor that says when it starts, then takes ~300 ms. */
  const slowProcessor = (startedTasks: TileTask__Output[]) => async (task: TileTask__Output) => {
    startedTasks.push(task);
    await sleep(300);
    return fakeProcessedTile();
  };

  await t.test('graceful: the result still arrives and the dispatch resolves', async (t) => {
    const master = await startMaster(t, { leaseMs: 5_000 });
    const started: TileTask__Output[] = [];
    let settled = false;
    const outcome = master.dispatcher.dispatch(smallOffer(0));
    void outcome.then(() => (settled = true), () => undefined);
    const worker = startWorker(t, master.address, 'graceful', slowProcessor(started));
    await waitFor('the worker to start the tile', () => started.length === 1);

    const stopAt = Date.now();
    // A modest timeoutMs: TileWorker.stop() leaves its graceful-timeout timer running (reported).
    await worker.stop({ graceful: true, timeoutMs: 2_000 });
    assert.ok(Date.now() - stopAt >= 200, 'stop() returned before the tile in hand was finished');
    assert.equal(settled, true, 'stop() returned before the master accepted the result');
    assert.deepEqual(await outcome, { workerId: 'graceful', attempt: 1 });
    assert.equal(worker.stats.tilesDone, 1);
  });

  await t.test('not graceful: the lease expires and another worker completes attempt 2', async (t) => {
    const leaseMs = 600;
    const master = await startMaster(t, { leaseMs });
    const started: TileTask__Output[] = [];
    const accepted: string[] = [];
    const outcome = master.dispatcher.dispatch(smallOffer(0, accepted));
    const quitter = startWorker(t, master.address, 'quitter', slowProcessor(started));
    await waitFor('the first worker to start the tile', () => started.length === 1);
    await quitter.stop({ graceful: false });

    const leasedAt = Date.now();
    startWorker(t, master.address, 'rescuer', slowProcessor(started));
    assert.deepEqual(await within(5_000, 'the re-leased tile', outcome), { workerId: 'rescuer', attempt: 2 });
    assert.ok(Date.now() - leasedAt < leaseMs + 2_000);
    assert.deepEqual(
      started.map((task) => task.attempt),
      [1, 2],
    );
    // The abandoned worker's late result (its channel is closed) never reaches the master.
    await sleep(300);
    assert.deepEqual(accepted, ['rescuer']);
  });
});

test('a worker computes its next tile while the master still accepts the last, and sends one result at a time', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const master = await startMaster(t);
  const events: string[] = [];
  let releaseFirst!: () => void;
  const firstMayEnd = new Promise<void>((resolve) => (releaseFirst = resolve));
  let secondComputed!: () => void;
  const secondDone = new Promise<void>((resolve) => (secondComputed = resolve));
  const first: TileOffer = {
    ...smallOffer(0),
    accept: async () => {
      events.push('accept 0 begins');
      await firstMayEnd; // the master is still checking and stitching tile 0
      events.push('accept 0 ends');
    },
  };
  const second: TileOffer = { ...smallOffer(1), accept: async () => void events.push('accept 1') };
  const outcomes = Promise.all([master.dispatcher.dispatch(first), master.dispatcher.dispatch(second)]);
  startWorker(t, master.address, 'pipelined', async (task) => {
    events.push(`compute ${task.taskId}`);
    if (task.taskId === taskIdOf(second)) secondComputed();
    return fakeProcessedTile();
  });

  // A worker that waited for tile 0's verdict before asking again would never get here: the test would time out.
  await within(5_000, 'the second tile computed while the first is being accepted', secondDone);
  assert.ok(!events.includes('accept 0 ends'));
  releaseFirst();
  assert.deepEqual(await outcomes, [
    { workerId: 'pipelined', attempt: 1 },
    { workerId: 'pipelined', attempt: 1 },
  ]);
  // Tile 1's result went out only once the master had answered for tile 0.
  assert.deepEqual(events.filter((event) => event.startsWith('accept')), ['accept 0 begins', 'accept 0 ends', 'accept 1']);
  assert.ok(events.indexOf(`compute ${taskIdOf(second)}`) < events.indexOf('accept 0 ends'));
});

test('server stop() with a long poll parked by a frozen client finishes within its timeout', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const master = await startMaster(t, { longPollMs: 30_000 });
  const poller = spawnParkedPoller(t, master.address);
  await waitFor('the child process to park its GetTask', () => master.dispatcher.counts().waitingWorkers === 1, 5_000);
  assert.ok(poller.child.kill('SIGSTOP'), 'could not freeze the child'); // it keeps its connection but never reads again

  // The master answers the parked poll on stop(), but the frozen peer never completes the HTTP/2
  // exchange, so the graceful shutdown cannot finish: stop() must force it at the timeout.
  const timeoutMs = 1_000;
  const started = Date.now();
  try {
    await within(timeoutMs + 2_000, 'stop()', master.stop(timeoutMs));
  } finally {
    await poller.kill(); // were stop() stuck, this lets it (and the test's clean-up) finish
  }
  const elapsed = Date.now() - started;
  t.diagnostic(`stop() took ${elapsed} ms (timeout ${timeoutMs} ms)`);
  assert.equal(master.dispatcher.counts().waitingWorkers, 0);

  // The port is really closed: a fresh client cannot reach the service.
  const probe = tileClient(t, master.address);
  assert.equal((await grpcErrorOf(getTask(probe, 'probe', 2_000).response)).code, grpc.status.UNAVAILABLE);
});
