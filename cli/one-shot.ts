/**
 * One request, start to finish, on this machine: the request kept in memory (no database), a master
 * on a free loopback port, N worker processes, the request inserted, followed, and everything
 * stopped again. `tessera run` and `tessera demo` are this.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { loadMasterConfig } from '../shared/config/master-config.js';
import type { Env, LogLevel } from '../shared/config/env.js';
import { createLogger } from '../shared/logger.js';
import type { MosaicRequestRow, NewMosaicRequest } from '../master/store/request-store.js';
import { InMemoryRequestStore } from '../master/store/in-memory-request-store.js';
import { loadDataLakeSettings } from '../master/output/datalake-config.js';
import { startMaster, type RunningMaster } from '../master/start-master.js';
import { watchRequest } from './request-watch.js';

export interface OneShotOptions {
  readonly request: NewMosaicRequest;
  readonly workers: number;
  readonly outputDir: string;
  readonly progress: boolean;
  readonly env: Env;
}

/** Starts `count` worker processes of this same CLI, pointed at the master. */
function spawnWorkers(count: number, masterAddress: string, logLevel: LogLevel, env: Env): ChildProcess[] {
  const entry = process.argv[1];
  if (!entry) throw new Error('cannot tell which script to start workers with');
  return Array.from({ length: count }, () =>
    spawn(process.execPath, [...process.execArgv, entry, 'worker'], {
      env: { ...env, MASTER_ADDRESS: masterAddress, LOG_LEVEL: logLevel, WORKER_ID: '' },
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
}

async function stopWorkers(workers: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    workers.map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
          child.once('exit', () => {
            clearTimeout(force);
            done();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
}

export async function runOneShot(options: OneShotOptions): Promise<MosaicRequestRow> {
  const logLevel: LogLevel = options.env['LOG_LEVEL'] ? loadMasterConfig(options.env).logLevel : 'warn';
  const dataLake = loadDataLakeSettings(options.env);
  // Ctrl-C or a TERM at any point: stop, then clean up below (workers, master).
  const interrupted = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => interrupted.abort(new Error(`interrupted (${signal}); nothing was kept`));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let master: RunningMaster | undefined;
  let workers: ChildProcess[] = [];
  try {
    const config = loadMasterConfig(options.env, {
      grpcListen: '127.0.0.1:0',
      outputDir: resolve(options.outputDir),
      logLevel,
    });
    master = await startMaster(config, createLogger('tessera-run', logLevel), { dataLake, store: new InMemoryRequestStore() });
    interrupted.signal.throwIfAborted();
    workers = spawnWorkers(options.workers, `127.0.0.1:${master.grpcPort}`, logLevel, options.env);
    const allExited = new AbortController();
    let exited = 0;
    for (const child of workers) {
      child.once('exit', () => {
        exited += 1;
        if (exited === workers.length) allExited.abort(new Error('every worker process exited before the request finished'));
      });
    }
    const id = await master.store.insert(options.request);
    return await watchRequest(master.store, id, { progress: options.progress, signal: AbortSignal.any([allExited.signal, interrupted.signal]) });
  } finally {
    await stopWorkers(workers);
    await master?.stop({ graceful: false, timeoutMs: 5_000 });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
