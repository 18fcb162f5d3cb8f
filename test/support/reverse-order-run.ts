/**
 * One request run by a real RequestRunner whose strips are all computed by one in-process worker
 * first and then answered last strip first: the worst arrival order for the master's stitching.
 * Resolves to the finished row.
 */
import assert from 'node:assert/strict';
import { TileDispatcher } from '../../master/dispatch/tile-dispatcher.js';
import type { MosaicRequestRow, NewMosaicRequest } from '../../master/db/request-store.js';
import { RequestRunner } from '../../master/request-runner.js';
import { InMemoryRequestStore } from '../../master/store/in-memory-request-store.js';
import { createLogger } from '../../shared/logger.js';
import { loadMasterCodecs } from '../../master/master-codecs.js';
import type { SubmitResultRequest__Output } from '../../shared/proto/tile-service.js';
import { processTile } from '../../worker/tile-processor.js';
import { chunksOverTheWire, resultOverTheWire, taskOverTheWire } from './over-the-wire.js';

const log = createLogger('test', 'silent');

export async function runInReverseOrder(options: {
  readonly request: NewMosaicRequest;
  readonly outputDir: string;
  /** How many strips the request has. */
  readonly strips: number;
  /** The master's bound on results held in memory (STRIP_BUFFER_BYTES). */
  readonly stripBufferBytes: number;
}): Promise<MosaicRequestRow> {
  const store = new InMemoryRequestStore(); // the queue is not what these runs are about
  const dispatcher = new TileDispatcher({ leaseMs: 60_000, maxAttempts: 1, log });
  const runner = new RequestRunner({
    store,
    dispatcher,
    masterId: 'm1',
    outputDir: options.outputDir,
    requestDefaults: { earthdailyBands: { blue: 1, green: 2, red: 3, nir: 4 } },
    stripPixels: 16_000_000,
    // As a master started here resolves STRIP_DEFLATE=auto: these runs are compared with `tessera run`'s bytes.
    stripDeflate: (await loadMasterCodecs('auto')).stripDeflate,
    stripBufferBytes: options.stripBufferBytes,
    maxBboxDeg: 0.42,
    maxRequestPixels: 100_000_000,
    maxInflightTiles: 1_000,
    heartbeatMs: 5_000,
    checkpointMs: 1_000,
    resumable: true,
    maxAttempts: 5,
    log,
  });
  const id = await store.insert(options.request);
  const row = await store.claimNext('m1', 60_000);
  assert.ok(row);
  const running = runner.process(row, new AbortController().signal);
  const results: SubmitResultRequest__Output[] = [];
  while (results.length < options.strips) {
    const offered = await dispatcher.nextTask('w', 5_000, new AbortController().signal);
    assert.ok(offered, `strip ${results.length} was offered`);
    const task = taskOverTheWire(offered);
    const claim = { workerId: 'w', taskId: task.taskId, attempt: task.attempt };
    const processed = await processTile(task, chunksOverTheWire(dispatcher.openSources(claim, new AbortController().signal)));
    results.push(resultOverTheWire({ ...claim, tiles: processed.tiles, timings: processed.timings }));
  }
  for (const result of results.reverse()) assert.deepEqual(await dispatcher.submit(result), { accepted: true, reason: '' });
  await running;
  const done = await store.get(id);
  assert.ok(done);
  return done;
}
