/**
 * One request, start to finish, on this machine: the request kept in memory (no database), N worker
 * processes and a master on a free loopback port, the request inserted, followed, and everything
 * stopped again. `tessera run` and `tessera demo` are this. The workers are started first, told the
 * port up front: they boot while this process loads and starts the master (a worker that finds no
 * master yet retries with backoff).
 *
 * The master takes workers only with a worker token made up for this run and handed to the workers
 * it starts (in their environment, not on a command line other users can read): other processes
 * on this machine cannot take tiles from it. TLS would add nothing on loopback and stays off,
 * whatever the environment says.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { loadMasterConfig } from '../shared/config/master-config.js';
import type { Env, LogLevel } from '../shared/config/env.js';
import { createLogger } from '../shared/logger.js';
import type { MosaicRequestRow, NewMosaicRequest } from '../master/store/request-store.js';
import { InMemoryRequestStore } from '../master/store/in-memory-request-store.js';
import { loadDataLakeSettings } from '../master/output/datalake-config.js';
import type { RunningMaster } from '../master/start-master.js';
import { MasterEvents } from '../master/master-events.js';
import { freePort } from '../shared/free-port.js';
import { isHttpUrl } from '../shared/urls.js';
import { InvalidRequestError } from '../shared/errors.js';
import { clientRequestDefaults, parseNewRequest } from '../shared/request/check-request.js';
import { settleWithin } from '../shared/settle-within.js';
import { watchRequest } from './request-watch.js';
import { withNodeFlags } from './node-flags.js';

export interface OneShotOptions {
  readonly request: NewMosaicRequest;
  readonly workers: number;
  readonly outputDir: string;
  readonly progress: boolean;
  readonly env: Env;
}

/** Loopback, no TLS: the master's TLS variables, and the workers', are not for a one-shot run. */
const NO_TLS = { grpcTlsCert: undefined, grpcTlsKey: undefined, grpcTlsCa: undefined } as const;
/** How long a run waits for all its workers to connect before it hands out strips to those that have. */
const WORKERS_CONNECT_MS = 10_000;

const WORKER_NO_TLS = { MASTER_TLS_CA: '', WORKER_TLS_CERT: '', WORKER_TLS_KEY: '' } as const;
/** The master events after which the request's row may read differently. */
const REQUEST_CHANGES = ['request:planned', 'request:progress', 'request:completed', 'request:failed', 'request:cancelled'] as const;

/**
 * Whether every file the request names is local: a Sentinel-2 request (as the master's rules read it)
 * whose bands are all paths. A request those rules refuse counts as not local (the master says why).
 */
function readsOnlyLocalFiles(request: NewMosaicRequest, env: Env): boolean {
  try {
    const job = parseNewRequest(request, clientRequestDefaults(env));
    return job.source === 'sentinel2' && job.bands.every((band) => !isHttpUrl(band.uri));
  } catch (error) {
    if (error instanceof InvalidRequestError) return false;
    throw error;
  }
}

/**
 * The environment of the workers a run starts: the caller's, without TLS (see NO_TLS), pointed at the
 * master. A request that reads only local files makes its workers no TLS connection at all, so they
 * go without NODE_EXTRA_CA_CERTS: Node reads and parses every certificate in that file as it starts,
 * 80 ms of CPU a process with the 220 KB system bundle (idle worker start 0.26 s against 0.18 s,
 * 2026-12-04).
 */
export function workerEnvironment(env: Env, request: NewMosaicRequest, master: { address: string; token: string; logLevel: LogLevel }): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env, ...WORKER_NO_TLS, MASTER_ADDRESS: master.address, WORKER_TOKEN: master.token, LOG_LEVEL: master.logLevel, WORKER_ID: '' };
  if (readsOnlyLocalFiles(request, env)) delete out['NODE_EXTRA_CA_CERTS'];
  return out;
}

/** Starts `count` worker processes of this same CLI with `env`. */
function spawnWorkers(count: number, env: NodeJS.ProcessEnv): ChildProcess[] {
  const entry = process.argv[1];
  if (!entry) throw new Error('cannot tell which script to start workers with');
  return Array.from({ length: count }, () =>
    spawn(process.execPath, [...withNodeFlags(process.execArgv), entry, 'worker'], { env, stdio: ['ignore', 'ignore', 'inherit'] }),
  );
}

/** Resolves once `count` different workers have opened their Attend call; stop() unsubscribes. */
function allWorkersAttending(events: MasterEvents, count: number): { all: Promise<void>; stop: () => void } {
  const seen = new Set<string>();
  let stop = (): void => undefined;
  const all = new Promise<void>((resolve) => {
    stop = events.on('worker:attending', ({ workerId }) => {
      seen.add(workerId);
      if (seen.size >= count) resolve();
    });
  });
  return { all, stop };
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
  const workerToken = randomBytes(32).toString('base64url');
  const runOverrides = { ...NO_TLS, workerToken, grpcListen: '127.0.0.1:0' };
  const logLevel: LogLevel = options.env['LOG_LEVEL'] ? loadMasterConfig(options.env, runOverrides).logLevel : 'warn';
  const dataLake = loadDataLakeSettings(options.env);
  // Ctrl-C or a TERM at any point: stop, then clean up below (workers, master).
  const interrupted = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => interrupted.abort(new Error(`interrupted (${signal}); nothing was kept`));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let master: RunningMaster | undefined;
  let workers: ChildProcess[] = [];
  try {
    const address = `127.0.0.1:${await freePort()}`;
    const config = loadMasterConfig(options.env, {
      ...runOverrides,
      grpcListen: address,
      outputDir: resolve(options.outputDir),
      logLevel,
    });
    workers = spawnWorkers(options.workers, workerEnvironment(options.env, options.request, { address, token: workerToken, logLevel }));
    const allExited = new AbortController();
    let exited = 0;
    for (const child of workers) {
      child.once('exit', () => {
        exited += 1;
        if (exited === workers.length) allExited.abort(new Error('every worker process exited before the request finished'));
      });
    }
    const log = createLogger('tessera-run', logLevel);
    const events = new MasterEvents((error, event) => log.error({ error: String(error), event }, 'a master event listener threw'));
    const connected = allWorkersAttending(events, options.workers);
    // Loaded now, while the workers boot: the master's modules are most of this process's start-up.
    const { startMaster } = await import('../master/start-master.js');
    master = await startMaster(config, log, { dataLake, store: new InMemoryRequestStore(), events });
    // The strips are handed out once every worker asked for can take one, so that --workers N
    // means N share the work (a small request was otherwise done by whichever worker booted first).
    const stopped = new Promise<void>((done) => {
      for (const signal of [allExited.signal, interrupted.signal]) signal.addEventListener('abort', () => done(), { once: true });
    });
    const waited = await settleWithin(Promise.race([connected.all, stopped]), WORKERS_CONNECT_MS);
    connected.stop();
    if (!waited.settled) log.warn({ workers: options.workers, waitedMs: WORKERS_CONNECT_MS }, 'not every worker connected in time; starting with those that did');
    interrupted.signal.throwIfAborted();
    const id = await master.store.insert(options.request);
    // The master's events say when the row changed: read it then (it ends the run as soon as the request does),
    // and otherwise once a second. Polling every 20 ms cost the master ~30 ms of CPU on a full scene.
    const watch = {
      progress: options.progress,
      intervalMs: 1_000,
      signal: AbortSignal.any([allExited.signal, interrupted.signal]),
      wake: (listener: () => void) => {
        const offs = REQUEST_CHANGES.map((event) => events.on(event, listener));
        return () => offs.forEach((off) => off());
      },
    };
    return await watchRequest(master.store, id, watch);
  } finally {
    await stopWorkers(workers);
    await master?.stop({ graceful: false, timeoutMs: 5_000 });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
