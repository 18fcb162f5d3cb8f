/** A worker's configuration: read from the environment once at start-up, validated, frozen. */
import { ConfigError } from '../errors.js';
import {
  addressVar,
  intVar,
  logLevelVar,
  switchVar,
  maxMessageBytesVar,
  optionalStringVar,
  pemFileVar,
  workerTokenVar,
  wordVar,
  type Env,
} from './env.js';
import { processIdentity } from './master-config.js';
import { readVariables, type ValuesOf } from './variable-set.js';

export const INFLATE_LIBRARIES = ['auto', 'libdeflate', 'zlib'] as const;
/** auto: libdeflate where it loads, else node:zlib; libdeflate: that or the worker does not start; zlib: node:zlib. */
export type InflateLibrary = (typeof INFLATE_LIBRARIES)[number];

export const WORKER_VARIABLES = {
  masterAddress: addressVar('MASTER_ADDRESS', '127.0.0.1:50051', 'The master\'s gRPC address (host:port) a worker connects to.'),
  /** Never log it. */
  workerToken: workerTokenVar,
  masterTlsCa: pemFileVar(
    'MASTER_TLS_CA',
    'CA bundle (PEM) that signed the master\'s certificate: set, workers (and `tessera health master`) connect over TLS. Unset: without TLS.',
  ),
  workerTlsCert: pemFileVar('WORKER_TLS_CERT', 'Client certificate (PEM) a worker presents to a master that requires one (GRPC_TLS_CA), with WORKER_TLS_KEY.'),
  workerTlsKey: pemFileVar('WORKER_TLS_KEY', 'The private key (PEM) of WORKER_TLS_CERT.'),
  concurrency: intVar('WORKER_CONCURRENCY', 1, 1, 64, 'Tiles one worker process computes at once.'),
  pollDeadlineMs: intVar(
    'WORKER_POLL_DEADLINE_MS',
    30_000,
    1_000,
    600_000,
    'Deadline of one GetTask long poll; keep it longer than the master\'s LONG_POLL_MS.',
  ),
  maxMessageBytes: maxMessageBytesVar,
  directReads: switchVar(
    'DIRECT_READS',
    true,
    'on: where this worker sees the master\'s input file itself (a local file at the same path with the same size and modification time, e.g. a volume mounted at the same path; or an http(s) URL it can reach, with the same size and ETag), it reads the blocks itself instead of having the master send them; otherwise, and with off, the master sends them.',
  ),
  directWrites: switchVar(
    'DIRECT_WRITES',
    true,
    'on: where this worker sees the folder the master offers for results on its output volume (the same volume mounted at the same path, checked with a token the master leaves there), it writes each strip\'s PNGs there instead of sending them over gRPC; otherwise, and with off, it sends them.',
  ),
  inflateLibrary: wordVar(
    'INFLATE_LIBRARY',
    INFLATE_LIBRARIES,
    'auto',
    'What inflates DEFLATE blocks: auto (libdeflate where it is installed, Debian\'s libdeflate0, about 1.8× as fast; else node:zlib), libdeflate (the worker does not start without it) or zlib (node:zlib). The outputs are the same.',
  ),
  aliveFile: optionalStringVar(
    'WORKER_ALIVE_FILE',
    'File the poll loop touches while it runs, for `tessera health worker` (the worker image sets /tmp/tessera-worker.alive). Unset: none.',
    'Set WORKER_ALIVE_FILE to a writable path, or unset it.',
  ),
  workerId: optionalStringVar('WORKER_ID', 'Worker identity. Unset: <hostname>-<pid>-<random>, unique per process.', 'Set WORKER_ID to a non-empty name.'),
  logLevel: logLevelVar,
} as const;

/** How a client reaches the master over TLS: the CA to trust and, for mutual TLS, its own certificate. */
export interface ClientTlsSettings {
  readonly masterTlsCa: string | undefined;
  readonly workerTlsCert: string | undefined;
  readonly workerTlsKey: string | undefined;
}

/** The worker's own variables: WORKER_VARIABLES but the client TLS ones, which are read as a set (below). */
const { masterTlsCa: _ca, workerTlsCert: _cert, workerTlsKey: _key, ...OWN_VARIABLES } = WORKER_VARIABLES;

/** A worker's settings: each variable's reading, with workerId always set. */
export type WorkerConfig = Omit<ValuesOf<typeof OWN_VARIABLES>, 'workerId'> & { readonly workerId: string } & ClientTlsSettings;

/**
 * The client-side TLS variables (a worker's, and `tessera health master`'s), checked as a set:
 * a certificate comes with its key, and is only ever sent over TLS.
 */
export function loadClientTlsSettings(env: Env, overrides: Partial<ClientTlsSettings> = {}): ClientTlsSettings {
  const v = WORKER_VARIABLES;
  const settings: ClientTlsSettings = {
    masterTlsCa: 'masterTlsCa' in overrides ? overrides.masterTlsCa : v.masterTlsCa.read(env),
    workerTlsCert: 'workerTlsCert' in overrides ? overrides.workerTlsCert : v.workerTlsCert.read(env),
    workerTlsKey: 'workerTlsKey' in overrides ? overrides.workerTlsKey : v.workerTlsKey.read(env),
  };
  if (settings.workerTlsCert && !settings.workerTlsKey) {
    throw new ConfigError('WORKER_TLS_KEY', 'not set, but WORKER_TLS_CERT is', 'Set WORKER_TLS_KEY to the private key of WORKER_TLS_CERT (PEM), or unset both.');
  }
  if (settings.workerTlsKey && !settings.workerTlsCert) {
    throw new ConfigError('WORKER_TLS_CERT', 'not set, but WORKER_TLS_KEY is', 'Set WORKER_TLS_CERT to the worker\'s client certificate (PEM), or unset both.');
  }
  if (settings.workerTlsCert && !settings.masterTlsCa) {
    throw new ConfigError(
      'MASTER_TLS_CA',
      'not set, but WORKER_TLS_CERT is (a client certificate is only sent over TLS)',
      'Set MASTER_TLS_CA to the CA that signed the master\'s certificate (PEM), or unset WORKER_TLS_CERT and WORKER_TLS_KEY.',
    );
  }
  return settings;
}

export function loadWorkerConfig(env: Env, overrides: Partial<WorkerConfig> = {}): WorkerConfig {
  const values = readVariables(OWN_VARIABLES, env);
  return Object.freeze({ ...values, workerId: values.workerId ?? processIdentity('worker'), ...loadClientTlsSettings(env, overrides), ...overrides });
}
