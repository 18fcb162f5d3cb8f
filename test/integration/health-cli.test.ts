/**
 * `tessera health master|worker`, the commands the images' HEALTHCHECKs run: the master answers
 * through grpc.health.v1; a worker's poll loop keeps its liveness file fresh, even while it waits
 * for an unreachable master.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TileDispatcher } from '../../master/dispatch/tile-dispatcher.js';
import { startTileServer } from '../../master/dispatch/tile-server.js';
import { createLogger } from '../../shared/logger.js';
import { runCli, spawnCli } from '../support/cli.js';
import { stopProcesses } from '../support/cluster.js';

const log = createLogger('test', 'silent');

describe('tessera health', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-health-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('health master: exit 0 while the tile service is SERVING, 1 once it stopped', async (t) => {
    const dispatcher = new TileDispatcher({ leaseMs: 1_000, maxAttempts: 1, log });
    const server = await startTileServer({ dispatcher, listen: '127.0.0.1:0', longPollMs: 100, maxMessageBytes: 8 << 20, log });
    // Stopped once, here or (when an assertion fails first) after the test: a server left running
    // would keep this test file's process alive until the runner's timeout.
    let stopped: Promise<void> | undefined;
    const stop = (): Promise<void> => (stopped ??= server.stop({ timeoutMs: 500 }));
    t.after(stop);
    const address = `127.0.0.1:${server.port}`;
    const up = await runCli(['health', 'master', '--address', address]);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.match(up.stdout, /SERVING/);
    await stop();
    const down = await runCli(['health', 'master', '--address', address, '--timeout-ms', '1000']);
    assert.equal(down.code, 1);
    assert.match(down.stdout, /unreachable|NOT_SERVING/);
  });

  test('health worker: fresh file → 0, stale or missing → 1', async () => {
    const file = join(dir, 'alive');
    assert.equal((await runCli(['health', 'worker', '--file', file])).code, 1, 'missing');
    await writeFile(file, 'x');
    assert.equal((await runCli(['health', 'worker', '--file', file])).code, 0, 'fresh');
    const old = new Date(Date.now() - 10 * 60_000);
    await utimes(file, old, old);
    assert.equal((await runCli(['health', 'worker', '--file', file, '--max-age-ms', '60000'])).code, 1, 'stale');
  });

  test('a worker keeps its liveness file fresh while it retries an unreachable master', async () => {
    const file = join(dir, 'worker-alive');
    const worker = spawnCli(['worker'], { MASTER_ADDRESS: '127.0.0.1:1', WORKER_ALIVE_FILE: file });
    try {
      for (let i = 0; ; i += 1) {
        if (await stat(file).then(() => true, () => false)) break;
        assert.ok(i < 100, 'no liveness file after 10 s');
        await sleep(100);
      }
      assert.equal((await runCli(['health', 'worker', '--file', file, '--max-age-ms', '30000'])).code, 0);
    } finally {
      await stopProcesses([worker]);
    }
  });
});
