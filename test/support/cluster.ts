/**
 * Builds a real master (in this process, on a free loopback port) and real workers (in this
 * process or as child processes) for integration tests: real PostgreSQL, real gRPC, real files.
 */
import type { ChildProcess } from 'node:child_process';
import { loadMasterConfig, type MasterConfig } from '../../shared/config/master-config.js';
import { createLogger } from '../../shared/logger.js';
import { createTileServiceClient, type ClientAuth } from '../../shared/proto/tile-service.js';
import { startMaster, type MasterExtras, type RunningMaster } from '../../master/start-master.js';
import { TileWorker, type TileWorkerOptions } from '../../worker/tile-worker.js';
import { spawnCli } from './cli.js';

const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export function testMasterConfig(overrides: Partial<MasterConfig>): MasterConfig {
  return loadMasterConfig(
    {},
    {
      grpcListen: '127.0.0.1:0',
      logLevel: (process.env['TEST_LOG_LEVEL'] as MasterConfig['logLevel'] | undefined) ?? 'silent',
      ...overrides,
    },
  );
}

export async function startTestMaster(overrides: Partial<MasterConfig>, extras: MasterExtras = {}): Promise<RunningMaster> {
  const config = testMasterConfig(overrides);
  return startMaster(config, createLogger(config.masterId, config.logLevel), extras);
}

export interface TestWorkerOptions {
  /** The worker token and TLS; absent: plain gRPC without a token. */
  readonly auth?: ClientAuth;
  /** Replaces the tile computation (to hold or alter it). */
  readonly process?: TileWorkerOptions['process'];
  /** Each worker's DirectFiles (DIRECT_READS=on); absent: the workers always call ReadSources. */
  readonly directFiles?: () => NonNullable<TileWorkerOptions['directFiles']>;
}

/** Workers in this process, talking real gRPC over loopback. */
export function startWorkers(count: number, port: number, prefix = 'worker', options: TestWorkerOptions = {}): TileWorker[] {
  return Array.from({ length: count }, (_, i) => {
    const workerId = `${prefix}-${i + 1}`;
    const worker = new TileWorker({
      client: createTileServiceClient(`127.0.0.1:${port}`, MAX_MESSAGE_BYTES, options.auth),
      workerId,
      concurrency: 1,
      pollDeadlineMs: 30_000,
      log: createLogger(workerId, 'silent'),
      backoff: { initialMs: 50, maxMs: 500 },
      ...(options.process ? { process: options.process } : {}),
      ...(options.directFiles ? { directFiles: options.directFiles() } : {}),
    });
    worker.start();
    return worker;
  });
}

/** Worker processes of the compiled CLI (`tessera worker`), which a test may kill. */
export function spawnWorkerProcesses(count: number, port: number, env: Record<string, string> = {}): ChildProcess[] {
  return Array.from({ length: count }, () => spawnCli(['worker'], { MASTER_ADDRESS: `127.0.0.1:${port}`, ...env }));
}

export async function stopProcesses(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}
