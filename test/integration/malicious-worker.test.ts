/**
 * A malicious (or badly broken) worker on the real gRPC port, holding the worker token (so it gets
 * past authentication: what is left to stop it is the lease and result checks), while honest
 * workers run a request:
 * PNGs smaller and larger than their strip, garbage, a missing index, a task it was never given,
 * another worker's task, attempt 0, a forged worker id, forged error reports, a 100 MB message and
 * a thousand parallel GetTask calls. Each is refused without harm, the master keeps serving, and the
 * mosaics are byte-identical to a fault-free run.
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { RunningMaster } from '../../master/start-master.js';
import { InMemoryRequestStore } from '../../master/store/in-memory-request-store.js';
import { packageRoot } from '../../shared/package-root.js';
import { encodeStripPng } from '../../shared/png/strip-png.js';
import {
  createTileServiceClient,
  type GetTaskResponse__Output,
  type SubmitResultRequest,
  type SubmitResultResponse__Output,
  type TileServiceClient,
  type TileTask__Output,
} from '../../shared/proto/tile-service.js';
import type { TileWorker } from '../../worker/tile-worker.js';
import { startTestMaster, startWorkers } from '../support/cluster.js';
import { waitFinished } from '../support/wait-finished.js';

const sample = join(packageRoot(), 'samples', 'L7_ETMs.tif');
const REQUEST = { bands: { green: `${sample}#2`, red: `${sample}#3`, nir: `${sample}#4`, swir16: `${sample}#5` }, indices: ['ndvi', 'ndsi'], stripRows: 6 };
const TOKEN = randomBytes(32).toString('hex');
const AUTH = { credentials: grpc.credentials.createInsecure(), token: TOKEN };
const FILES = ['ndvi.png', 'ndvi_color.png', 'ndsi.png', 'ndsi_color.png'];

function getTask(client: TileServiceClient, workerId: string, deadlineMs = 5_000): { call: grpc.ClientUnaryCall; response: Promise<GetTaskResponse__Output> } {
  let call!: grpc.ClientUnaryCall;
  const response = new Promise<GetTaskResponse__Output>((resolve, reject) => {
    call = client.GetTask({ workerId }, { deadline: Date.now() + deadlineMs }, (error, value) => (error ? reject(error) : resolve(value!)));
  });
  response.catch(() => undefined);
  return { call, response };
}

function submit(client: TileServiceClient, result: SubmitResultRequest): Promise<SubmitResultResponse__Output> {
  return new Promise((resolve, reject) => client.SubmitResult(result, { deadline: Date.now() + 10_000 }, (error, value) => (error ? reject(error) : resolve(value!))));
}

async function digests(folder: string): Promise<Record<string, string>> {
  return Object.fromEntries(await Promise.all(FILES.map(async (f) => [f, createHash('sha256').update(await readFile(join(folder, f))).digest('hex')])));
}

/** A strip PNG of the right make but `width` × `rows` in size. */
async function stripOf(width: number, rows: number): Promise<Buffer> {
  return encodeStripPng(new Uint8Array(width * rows).fill(128), width, rows);
}

describe('a malicious worker changes nothing', () => {
  let output: string;
  let store: InMemoryRequestStore;
  let master: RunningMaster;
  let honest: TileWorker[] = [];
  let reference: Record<string, string>;

  before(async () => {
    output = await mkdtemp(join(tmpdir(), 'tessera-malicious-'));
    store = new InMemoryRequestStore();
    master = await startTestMaster({ outputDir: output, pollIntervalMs: 50, tileMaxAttempts: 10, maxMessageBytes: 64 * 1024 * 1024, workerToken: TOKEN }, { store });
    honest = startWorkers(2, master.grpcPort, 'honest', { auth: AUTH });
    const row = await waitFinished(store, await store.insert(REQUEST), 60_000);
    assert.equal(row.status, 'completed', row.error ?? '');
    reference = await digests(row.outputDir!);
  });
  after(async () => {
    await Promise.all(honest.map((w) => w.stop({ graceful: false })));
    await master.stop({ graceful: false, timeoutMs: 1_000 });
    await rm(output, { recursive: true, force: true });
  });

  test('every forged, stale or malformed call is refused; the mosaics stay byte-identical', { timeout: 120_000 }, async () => {
    await Promise.all(honest.map((w) => w.stop({ graceful: true })));
    honest = [];
    const evil = createTileServiceClient(`127.0.0.1:${master.grpcPort}`, 200 * 1024 * 1024, AUTH);
    try {
      const id = await store.insert(REQUEST);
      // With no honest worker polling yet, the evil one gets real tasks.
      const tasks: TileTask__Output[] = [];
      while (tasks.length < 5) {
        const { task } = await getTask(evil, 'evil').response;
        if (task) tasks.push(task);
      }
      const [small, large, garbage, partial, kept] = tasks as [TileTask__Output, TileTask__Output, TileTask__Output, TileTask__Output, TileTask__Output];
      const answer = (task: TileTask__Output, tiles: SubmitResultRequest['tiles'], extra: Partial<SubmitResultRequest> = {}): Promise<SubmitResultResponse__Output> =>
        submit(evil, { workerId: 'evil', taskId: task.taskId, attempt: task.attempt, tiles, ...extra });
      const stats = { validPixels: 1, min: 0, max: 0, sum: 0 };
      const verdicts = {
        small: await answer(small, [{ index: 'ndvi', png: await stripOf(5, 5), stats }, { index: 'ndsi', png: await stripOf(5, 5), stats }]),
        large: await answer(large, [{ index: 'ndvi', png: await stripOf(small.width + 1, small.height + 3), stats }, { index: 'ndsi', png: await stripOf(small.width, small.height), stats }]),
        garbage: await answer(garbage, [{ index: 'ndvi', png: Buffer.from('not a png at all'), stats }, { index: 'ndsi', png: Buffer.alloc(100, 7), stats }]),
        partial: await answer(partial, [{ index: 'ndvi', png: await stripOf(partial.width, partial.height), stats }]),
        whole: await answer(kept, [{ index: 'ndvi', png: await sharp(Buffer.alloc(kept.width * kept.height, 128), { raw: { width: kept.width, height: kept.height, channels: 1 } }).toColourspace('b-w').png().toBuffer(), stats }, { index: 'ndsi', png: await stripOf(kept.width, kept.height), stats }]),
        neverGiven: await submit(evil, { workerId: 'evil', taskId: `${id}/1/999`, attempt: 1, tiles: [] }),
        attemptZero: await answer(kept, [], { attempt: 0 }),
      };
      assert.match(verdicts.small.reason, /5×5 PNG, expected 349×6/);
      assert.match(verdicts.large.reason, /350×9 PNG|cannot exceed/);
      assert.match(verdicts.garbage.reason, /not a valid PNG|not a PNG/);
      assert.match(verdicts.partial.reason, /lacks ndsi/);
      assert.match(verdicts.whole.reason, /sync flush/);
      assert.match(verdicts.neverGiven.reason, /unknown/);
      assert.match(verdicts.attemptZero.reason, /was not handed attempt 0/);
      for (const [name, verdict] of Object.entries(verdicts)) assert.equal(verdict.accepted, false, name);

      // Honest workers join; the evil client forges results and errors for their tasks.
      honest = startWorkers(2, master.grpcPort, 'honest', { auth: AUTH });
      const forged = await Promise.all(
        Array.from({ length: 30 }, (_, tile) =>
          Promise.all([
            submit(evil, { workerId: 'honest-1', taskId: `${id}/1/${tile}`, attempt: 1, tiles: [] }), // a forged worker id
            submit(evil, { workerId: 'honest-2', taskId: `${id}/1/${tile}`, attempt: 2, error: 'forged failure' }),
          ]),
        ),
      );
      for (const verdict of forged.flat()) assert.equal(verdict.accepted, false, `a forged call was taken: ${verdict.reason}`);

      // A 100 MB message, and a thousand parallel long polls from one connection.
      await assert.rejects(submit(evil, { workerId: 'evil', taskId: kept.taskId, attempt: kept.attempt, tiles: [{ index: 'ndvi', png: Buffer.alloc(100 * 1024 * 1024), stats }] }), (error: unknown) => (error as grpc.ServiceError).code === grpc.status.RESOURCE_EXHAUSTED);
      const flood = Array.from({ length: 1_000 }, () => getTask(evil, 'flood', 3_000));
      const outcomes = await Promise.allSettled(flood.map((f) => f.response));
      const refused = outcomes.filter((o) => o.status === 'rejected' && (o.reason as grpc.ServiceError).code === grpc.status.RESOURCE_EXHAUSTED).length;
      // At most 64 park at once per connection; polls answered at once (a tile was ready) free their place.
      assert.ok(refused >= 500, `${refused} of 1000 parallel polls refused`);
      for (const { call } of flood) call.cancel();
      // Whatever the flood leased is reported failed by its legitimate holder, so it is handed out again.
      for (const outcome of outcomes) {
        if (outcome.status === 'fulfilled' && outcome.value.task) {
          await submit(evil, { workerId: 'flood', taskId: outcome.value.task.taskId, attempt: outcome.value.task.attempt, error: 'gave up' });
        }
      }
      await submit(evil, { workerId: 'evil', taskId: kept.taskId, attempt: kept.attempt, error: 'gave up' });

      const row = await waitFinished(store, id, 90_000);
      assert.equal(row.status, 'completed', row.error ?? '');
      assert.deepEqual(Object.keys(row.workerTiles ?? {}).sort(), ['honest-1', 'honest-2'], 'only honest workers\' results made it');
      assert.deepEqual(await digests(row.outputDir!), reference, 'byte-identical to the fault-free run');
    } finally {
      evil.close();
    }
  });
});
