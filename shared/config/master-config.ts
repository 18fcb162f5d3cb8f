/** The master's configuration: read from the environment once at start-up, validated, frozen. */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { ConfigError } from '../errors.js';
import {
  addressVar,
  bandLayoutVar,
  checkRetired,
  httpUrlVar,
  intVar,
  logLevelVar,
  maxMessageBytesVar,
  numberVar,
  optionalAddressVar,
  optionalStringVar,
  pemFileVar,
  postgresUrlVar,
  stringVar,
  workerTokenVar,
  wordVar,
  type Env,
} from './env.js';
import { STRIP_DEFLATES } from '../types.js';
import { isLoopbackAddress } from './loopback.js';
import { readVariables, type ValuesOf } from './variable-set.js';

/** STRIP_DEFLATE's words: a strip compression, or auto. */
export const STRIP_DEFLATE_CHOICES = ['auto', ...STRIP_DEFLATES] as const;
export type StripDeflateChoice = (typeof STRIP_DEFLATE_CHOICES)[number];

export const MASTER_VARIABLES = {
  databaseUrl: postgresUrlVar(
    'DATABASE_URL',
    'The central PostgreSQL. Unset: the master runs an embedded PostgreSQL (PGlite) persisted under EMBEDDED_DB_DIR.',
  ),
  embeddedDbDir: stringVar('EMBEDDED_DB_DIR', './data', 'Where the embedded database keeps its files (only without DATABASE_URL).'),
  embeddedDbPort: intVar(
    'EMBEDDED_DB_PORT',
    54329,
    0,
    65535,
    'Port on 127.0.0.1 where the embedded database accepts psql / tessera submit (only without DATABASE_URL).',
  ),
  outputDir: stringVar('OUTPUT_DIR', './output', 'Mosaics are written to OUTPUT_DIR/<request id>/.'),
  grpcListen: addressVar(
    'GRPC_LISTEN',
    '127.0.0.1:50051',
    'Address the master serves workers (gRPC) and grpc.health.v1 on. Anything but loopback (e.g. 0.0.0.0:50051, as the image sets) needs WORKER_TOKEN.',
  ),
  /** Never log it: the server keeps only its digest. */
  workerToken: workerTokenVar,
  grpcTlsCert: pemFileVar('GRPC_TLS_CERT', 'The master\'s TLS certificate (PEM, may include the chain), with GRPC_TLS_KEY. Unset: gRPC without TLS.'),
  grpcTlsKey: pemFileVar('GRPC_TLS_KEY', 'The private key (PEM) of GRPC_TLS_CERT.'),
  grpcTlsCa: pemFileVar('GRPC_TLS_CA', 'CA bundle (PEM) that signs worker certificates: set, every connection must present one (mutual TLS). Needs GRPC_TLS_CERT.'),
  stripPixels: intVar(
    'STRIP_PIXELS',
    16_000_000,
    65_536,
    1_000_000_000,
    'Target pixels per tile (a full-width strip of rows; a request may set strip_rows). Bounds a worker\'s memory whatever the scene\'s size.',
  ),
  stripDeflate: wordVar(
    'STRIP_DEFLATE',
    STRIP_DEFLATE_CHOICES,
    'auto',
    'What every worker compresses a request\'s strips with (one for all, so a mosaic is the same bytes whoever computed which strip): isal (ISA-L, Debian\'s libisal2: 3.3–4.5× as fast as zlib, files 2–3 % larger; every worker must have it, as the worker image does), zlib (node:zlib level 1, any worker), or auto: isal where the master itself can load ISA-L (the same installation as its workers: `tessera run`, the images), else zlib.',
  ),
  stripBufferBytes: intVar(
    'STRIP_BUFFER_BYTES',
    64 * 1024 * 1024,
    0,
    16 * 1024 * 1024 * 1024,
    'Results that arrive ahead of their turn are held in memory up to this many bytes, then spilled to the request\'s staging folder.',
  ),
  maxInflightTiles: intVar('MAX_INFLIGHT_TILES', 64, 1, 4096, 'Tiles out at once (waiting for a worker or on lease); at least the number of workers to keep them all busy.'),
  tileLeaseMs: intVar('TILE_LEASE_MS', 60_000, 500, 3_600_000, 'A tile not returned within this time is handed to another worker.'),
  tileMaxAttempts: intVar('TILE_MAX_ATTEMPTS', 5, 1, 100, 'Hand-outs of one tile before the request fails.'),
  longPollMs: intVar('LONG_POLL_MS', 20_000, 100, 300_000, 'How long the master holds a worker\'s GetTask when no tile is ready.'),
  pollIntervalMs: intVar('POLL_INTERVAL_MS', 2_000, 50, 600_000, 'Polling fallback for new requests (NOTIFY usually wakes the master first).'),
  requestStaleMs: intVar(
    'REQUEST_STALE_MS',
    30_000,
    1_000,
    86_400_000,
    'A running request whose master stopped heart-beating (every quarter of this) this long ago is claimed again, and resumed from its checkpoint.',
  ),
  checkpointMs: intVar(
    'CHECKPOINT_MS',
    1_000,
    50,
    600_000,
    'How often (at most) a running request checkpoints the strips written so far; a master taking over a crashed one\'s request continues from there.',
  ),
  requestMaxAttempts: intVar(
    'REQUEST_MAX_ATTEMPTS',
    5,
    1,
    100,
    'Claims of one request (a master died or stopped mid-way) before it is failed instead of retried.',
  ),
  maxMessageBytes: maxMessageBytesVar,
  shutdownTimeoutMs: intVar('SHUTDOWN_TIMEOUT_MS', 20_000, 0, 600_000, 'On SIGTERM, how long to wait for the current request before releasing it.'),
  earthdailyMosaicUrl: httpUrlVar(
    'EARTHDAILY_MOSAIC_URL',
    'Default EarthDaily mosaic (a cloud-optimized GeoTIFF URL, may be signed) for requests that give none.',
  ),
  earthdailyBands: bandLayoutVar(
    'EARTHDAILY_BANDS',
    'blue=1,green=2,red=3,nir=4',
    'Band layout of the EarthDaily mosaic (STAC name = band number); a request\'s bands column may override it.',
  ),
  maxBboxDeg: numberVar('MAX_BBOX_DEG', 0.42, 0.0001, 180, 'Largest EarthDaily box side, in degrees.'),
  maxRequestPixels: intVar(
    'MAX_REQUEST_PIXELS',
    250_000_000,
    1,
    10_000_000_000,
    'Largest output grid of any request (width × height), e.g. two Sentinel-2 tiles side by side (21960 × 10980): an EarthDaily box at a tiny resolution, or a file declaring a huge image, is refused.',
  ),
  masterId: optionalStringVar('MASTER_ID', 'Identity recorded in claimed_by. Unset: <hostname>-<pid>-<random>.', 'Set MASTER_ID to a non-empty name.'),
  logLevel: logLevelVar,
  readTimeoutMs: intVar(
    'READ_TIMEOUT_MS',
    30_000,
    100,
    600_000,
    'A remote range request that receives nothing (headers or body) for this long fails that attempt, which is retried like a network error.',
  ),
  verifyFraction: numberVar(
    'VERIFY_FRACTION',
    0,
    0,
    1,
    'Share of tiles (0..1, picked at random per run) computed by a second, different worker and compared byte for byte; on a mismatch a third decides and the outvoted worker is banned from the run. Each sampled tile is computed twice. 0: off.',
  ),
  verifyWaitMs: intVar(
    'VERIFY_WAIT_MS',
    30_000,
    100,
    3_600_000,
    'How long a verification copy waits for a different worker to take it; then the tile stays unverified (one worker only). A disagreement with no third worker in this time fails the request.',
  ),
  retentionDays: intVar(
    'RETENTION_DAYS',
    0,
    0,
    36_500,
    'Completed and failed requests finished more than this many days ago are deleted with their output folders (hourly). 0: keep everything.',
  ),
  workerStatsMs: intVar(
    'WORKER_STATS_MS',
    2_000,
    100,
    600_000,
    'How often the master writes each worker\'s contribution (tiles, times, bytes, last seen) to the worker_stats table; also at the end of every request.',
  ),
  metricsListen: optionalAddressVar(
    'METRICS_LISTEN',
    '127.0.0.1:9464',
    'Address of the master\'s Prometheus metrics (GET /metrics), e.g. 127.0.0.1:9464. Unset: no metrics server. Unauthenticated: expose it only to Prometheus.',
  ),
} as const;

/** The master's settings: each variable's reading, with masterId always set. */
export type MasterConfig = Omit<ValuesOf<typeof MASTER_VARIABLES>, 'masterId'> & { readonly masterId: string };

/** A process-unique identity: containers can share a hostname, so add the pid and a random part. */
export function processIdentity(role: string): string {
  return `${role}-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** Reads and validates every master variable; throws ConfigError on the first bad one. */
export function loadMasterConfig(env: Env, overrides: Partial<MasterConfig> = {}): MasterConfig {
  checkRetired(env, 'TILE_SIZE', 'tiles are full-width strips of rows now, sized by STRIP_PIXELS', 'Unset TILE_SIZE; set STRIP_PIXELS (pixels per strip) instead, or strip_rows on a request.');
  const values = readVariables(MASTER_VARIABLES, env);
  const config: MasterConfig = Object.freeze({ ...values, masterId: values.masterId ?? processIdentity('master'), ...overrides });
  checkGrpcSecurity(config);
  return config;
}

/**
 * The tile service is never open beyond this machine: off loopback a worker token is required (an
 * open port hands out source pixels and takes answers for tiles from anyone). TLS settings come in
 * complete sets. Checked after the overrides, which may change the listen address.
 */
function checkGrpcSecurity(config: Pick<MasterConfig, 'grpcListen' | 'workerToken' | 'grpcTlsCert' | 'grpcTlsKey' | 'grpcTlsCa'>): void {
  if (config.grpcTlsCert && !config.grpcTlsKey) {
    throw new ConfigError('GRPC_TLS_KEY', 'not set, but GRPC_TLS_CERT is', 'Set GRPC_TLS_KEY to the private key of GRPC_TLS_CERT (PEM), or unset both for gRPC without TLS.');
  }
  if (config.grpcTlsKey && !config.grpcTlsCert) {
    throw new ConfigError('GRPC_TLS_CERT', 'not set, but GRPC_TLS_KEY is', 'Set GRPC_TLS_CERT to the master\'s certificate (PEM), or unset both for gRPC without TLS.');
  }
  if (config.grpcTlsCa && !config.grpcTlsCert) {
    throw new ConfigError('GRPC_TLS_CA', 'client certificates need TLS, and GRPC_TLS_CERT is not set', 'Set GRPC_TLS_CERT and GRPC_TLS_KEY too (see README, "Workers on other machines"), or unset GRPC_TLS_CA.');
  }
  if (!config.workerToken && !isLoopbackAddress(config.grpcListen)) {
    throw new ConfigError(
      'WORKER_TOKEN',
      `not set, and GRPC_LISTEN=${config.grpcListen} accepts workers from other machines`,
      'Set WORKER_TOKEN to a random secret (e.g. `openssl rand -hex 32`) on the master and on every worker, or listen on loopback only (GRPC_LISTEN=127.0.0.1:50051).',
    );
  }
}
