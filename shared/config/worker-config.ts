/** A worker's configuration: read from the environment once at start-up, validated, frozen. */
import { addressVar, intVar, logLevelVar, maxMessageBytesVar, optionalStringVar, type Env, type LogLevel } from './env.js';
import { processIdentity } from './master-config.js';

export const WORKER_VARIABLES = {
  masterAddress: addressVar('MASTER_ADDRESS', '127.0.0.1:50051', 'The master\'s gRPC address (host:port) a worker connects to.'),
  concurrency: intVar('WORKER_CONCURRENCY', 1, 1, 64, 'Tiles one worker process computes at once.'),
  pollDeadlineMs: intVar(
    'WORKER_POLL_DEADLINE_MS',
    30_000,
    1_000,
    600_000,
    'Deadline of one GetTask long poll; keep it longer than the master\'s LONG_POLL_MS.',
  ),
  maxMessageBytes: maxMessageBytesVar,
  aliveFile: optionalStringVar(
    'WORKER_ALIVE_FILE',
    'File the poll loop touches while it runs, for `tessera health worker` (the worker image sets /tmp/tessera-worker.alive). Unset: none.',
    'Set WORKER_ALIVE_FILE to a writable path, or unset it.',
  ),
  workerId: optionalStringVar('WORKER_ID', 'Worker identity. Unset: <hostname>-<pid>-<random>, unique per process.', 'Set WORKER_ID to a non-empty name.'),
  logLevel: logLevelVar,
} as const;

export interface WorkerConfig {
  readonly masterAddress: string;
  readonly concurrency: number;
  readonly pollDeadlineMs: number;
  readonly maxMessageBytes: number;
  readonly aliveFile: string | undefined;
  readonly workerId: string;
  readonly logLevel: LogLevel;
}

export function loadWorkerConfig(env: Env, overrides: Partial<WorkerConfig> = {}): WorkerConfig {
  const v = WORKER_VARIABLES;
  return Object.freeze({
    masterAddress: v.masterAddress.read(env),
    concurrency: v.concurrency.read(env),
    pollDeadlineMs: v.pollDeadlineMs.read(env),
    maxMessageBytes: v.maxMessageBytes.read(env),
    aliveFile: v.aliveFile.read(env),
    workerId: v.workerId.read(env) ?? processIdentity('worker'),
    logLevel: v.logLevel.read(env),
    ...overrides,
  });
}
