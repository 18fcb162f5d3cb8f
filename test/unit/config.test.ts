/**
 * loadMasterConfig / loadWorkerConfig: defaults, parsing, and a ConfigError naming the variable and
 * the fix for every bad value — also as the compiled CLI shows it (exit code 2, nothing started).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../../shared/errors.js';
import type { Env } from '../../shared/config/env.js';
import { loadMasterConfig } from '../../shared/config/master-config.js';
import { loadWorkerConfig } from '../../shared/config/worker-config.js';
import { runCli } from '../support/cli.js';

/** Asserts `load` throws a ConfigError for `variable` whose message matches every pattern. */
function configError(load: () => unknown, variable: string, ...patterns: RegExp[]): ConfigError {
  let caught: unknown;
  try {
    load();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.equal(caught.variable, variable);
  assert.ok(caught.message.startsWith(`${variable}: `), caught.message);
  for (const pattern of patterns) assert.match(caught.message, pattern);
  return caught;
}

describe('loadMasterConfig: EarthDaily variables', () => {
  it('rejects a malformed band layout, box limit or mosaic URL, naming the variable and the fix', () => {
    configError(() => loadMasterConfig({ EARTHDAILY_BANDS: 'red=three' }), 'EARTHDAILY_BANDS', /not NAME=NUMBER/, /blue=1,green=2,red=3,nir=4/);
    configError(() => loadMasterConfig({ EARTHDAILY_BANDS: 'thermal=7' }), 'EARTHDAILY_BANDS', /unknown band "thermal"/);
    configError(() => loadMasterConfig({ EARTHDAILY_BANDS: 'red=0' }), 'EARTHDAILY_BANDS', /start at 1/);
    configError(() => loadMasterConfig({ MAX_BBOX_DEG: '-1' }), 'MAX_BBOX_DEG', /at least/);
    configError(() => loadMasterConfig({ MAX_BBOX_DEG: 'wide' }), 'MAX_BBOX_DEG', /must be a number/);
    configError(() => loadMasterConfig({ EARTHDAILY_MOSAIC_URL: 'mosaic.tif' }), 'EARTHDAILY_MOSAIC_URL', /http\(s\) URL/);
  });
});

describe('loadMasterConfig', () => {
  it('has defaults for an empty environment', () => {
    const config = loadMasterConfig({});
    const { masterId, ...rest } = config;
    assert.deepEqual(rest, {
      databaseUrl: undefined,
      embeddedDbDir: './data',
      embeddedDbPort: 54329,
      outputDir: './output',
      grpcListen: '0.0.0.0:50051',
      stripPixels: 16_000_000,
      stripBufferBytes: 64 * 1024 * 1024,
      maxInflightTiles: 64,
      tileLeaseMs: 60_000,
      tileMaxAttempts: 5,
      longPollMs: 20_000,
      pollIntervalMs: 2_000,
      requestStaleMs: 120_000,
      requestMaxAttempts: 5,
      maxMessageBytes: 64 * 1024 * 1024,
      shutdownTimeoutMs: 20_000,
      earthdailyMosaicUrl: undefined,
      earthdailyBands: { blue: 1, green: 2, red: 3, nir: 4 },
      maxBboxDeg: 0.42,
      maxRequestPixels: 250_000_000,
      logLevel: 'info',
      readTimeoutMs: 30_000,
      retentionDays: 0,
    });
    assert.ok(masterId.startsWith(`master-${hostname()}-${process.pid}-`), masterId);
    assert.ok(Object.isFrozen(config));
  });

  it('parses the values it is given (trimmed)', () => {
    const config = loadMasterConfig({
      DATABASE_URL: 'postgresql://tessera:pw@db.example:5433/mosaics',
      EMBEDDED_DB_DIR: '/var/lib/tessera',
      EMBEDDED_DB_PORT: '0',
      OUTPUT_DIR: '/srv/out',
      GRPC_LISTEN: ' 127.0.0.1:6000 ',
      STRIP_PIXELS: ' 1000000 ',
      STRIP_BUFFER_BYTES: '0',
      MAX_INFLIGHT_TILES: '4',
      TILE_LEASE_MS: '1500',
      TILE_MAX_ATTEMPTS: '2',
      LONG_POLL_MS: '100',
      POLL_INTERVAL_MS: '50',
      REQUEST_STALE_MS: '1000',
      REQUEST_MAX_ATTEMPTS: '3',
      MAX_MESSAGE_BYTES: String(8 * 1024 * 1024),
      SHUTDOWN_TIMEOUT_MS: '0',
      EARTHDAILY_MOSAIC_URL: 'https://mosaics.example/m.tif?sig=x',
      EARTHDAILY_BANDS: 'blue=1, green=2, red=3, nir=4, swir16=5',
      MAX_BBOX_DEG: '0.1',
      MAX_REQUEST_PIXELS: '1000000',
      MASTER_ID: 'master-a',
      LOG_LEVEL: 'debug',
      READ_TIMEOUT_MS: '2500',
      RETENTION_DAYS: '30',
    });
    assert.deepEqual(
      { ...config },
      {
        databaseUrl: 'postgresql://tessera:pw@db.example:5433/mosaics',
        embeddedDbDir: '/var/lib/tessera',
        embeddedDbPort: 0,
        outputDir: '/srv/out',
        grpcListen: '127.0.0.1:6000',
        stripPixels: 1_000_000,
        stripBufferBytes: 0,
        maxInflightTiles: 4,
        tileLeaseMs: 1500,
        tileMaxAttempts: 2,
        longPollMs: 100,
        pollIntervalMs: 50,
        requestStaleMs: 1000,
        requestMaxAttempts: 3,
        maxMessageBytes: 8 * 1024 * 1024,
        shutdownTimeoutMs: 0,
        earthdailyMosaicUrl: 'https://mosaics.example/m.tif?sig=x',
        earthdailyBands: { blue: 1, green: 2, red: 3, nir: 4, swir16: 5 },
        maxBboxDeg: 0.1,
        maxRequestPixels: 1_000_000,
        masterId: 'master-a',
        logLevel: 'debug',
        readTimeoutMs: 2500,
        retentionDays: 30,
      },
    );
  });

  it('accepts postgres:// URLs, IPv6 and host-name listen addresses, and port 0', () => {
    assert.equal(loadMasterConfig({ DATABASE_URL: 'postgres://localhost/x' }).databaseUrl, 'postgres://localhost/x');
    assert.equal(loadMasterConfig({ GRPC_LISTEN: '[::1]:50051' }).grpcListen, '[::1]:50051');
    assert.equal(loadMasterConfig({ GRPC_LISTEN: 'master.internal:0' }).grpcListen, 'master.internal:0');
    assert.equal(loadMasterConfig({ GRPC_LISTEN: '127.0.0.1:65535' }).grpcListen, '127.0.0.1:65535');
  });

  it('treats empty and blank values as unset', () => {
    const config = loadMasterConfig({ STRIP_PIXELS: '', TILE_SIZE: ' ', GRPC_LISTEN: '   ', DATABASE_URL: '', LOG_LEVEL: ' ', MASTER_ID: '' });
    assert.equal(config.stripPixels, 16_000_000);
    assert.equal(config.grpcListen, '0.0.0.0:50051');
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.logLevel, 'info');
    assert.match(config.masterId, /^master-/);
  });

  it('overrides win over the environment', () => {
    const config = loadMasterConfig({ STRIP_PIXELS: '500000', GRPC_LISTEN: '0.0.0.0:1234' }, { stripPixels: 70_000, grpcListen: '127.0.0.1:0' });
    assert.equal(config.stripPixels, 70_000);
    assert.equal(config.grpcListen, '127.0.0.1:0');
  });

  it('gives each load its own master id', () => {
    assert.notEqual(loadMasterConfig({}).masterId, loadMasterConfig({}).masterId);
  });

  const bad: Array<[name: string, value: string, ...patterns: RegExp[]]> = [
    ['STRIP_PIXELS', 'abc', /got "abc"/, /Set STRIP_PIXELS to a whole number from 65536 to 1000000000, or unset it for the default 16000000/],
    ['STRIP_PIXELS', '5', /must be at least 65536/, /got "5"/, /Set STRIP_PIXELS to a whole number/],
    ['STRIP_PIXELS', '100.5', /must be a whole number/, /Set STRIP_PIXELS/],
    ['STRIP_BUFFER_BYTES', '-1', /must be at least 0/, /Set STRIP_BUFFER_BYTES/],
    ['TILE_SIZE', '1024', /tiles are full-width strips of rows now, sized by STRIP_PIXELS/, /Unset TILE_SIZE; set STRIP_PIXELS \(pixels per strip\) instead, or strip_rows on a request/],
    ['MAX_INFLIGHT_TILES', '0', /must be at least 1/, /Set MAX_INFLIGHT_TILES to a whole number from 1 to 4096/],
    ['EMBEDDED_DB_PORT', '70000', /must be at most 65535/, /Set EMBEDDED_DB_PORT/],
    ['GRPC_LISTEN', 'nonsense', /must be host:port/, /got "nonsense"/, /Set GRPC_LISTEN to host:port, for example 0\.0\.0\.0:50051/],
    ['GRPC_LISTEN', 'host:70000', /port must be 0\.\.65535/, /Set GRPC_LISTEN to host:port/],
    ['GRPC_LISTEN', ':50051', /must be host:port/, /Set GRPC_LISTEN/],
    ['DATABASE_URL', 'mysql://x', /must be a postgres:\/\/ URL/, /Set DATABASE_URL like postgres:\/\/user:password@host:5432\/database/, /embedded database/],
    ['LOG_LEVEL', 'loud', /must be one of fatal, error, warn, info, debug, trace, silent/, /got "loud"/, /Set LOG_LEVEL to one of/],
  ];
  for (const [name, value, ...patterns] of bad) {
    it(`${name}=${JSON.stringify(value)} → ConfigError naming ${name} and the fix`, () => {
      configError(() => loadMasterConfig({ [name]: value }), name, ...patterns);
    });
  }
});

describe('loadWorkerConfig', () => {
  it('has defaults for an empty environment', () => {
    const config = loadWorkerConfig({});
    const { workerId, ...rest } = config;
    assert.deepEqual(rest, {
      masterAddress: '127.0.0.1:50051',
      concurrency: 1,
      pollDeadlineMs: 30_000,
      maxMessageBytes: 64 * 1024 * 1024,
      aliveFile: undefined,
      logLevel: 'info',
    });
    assert.ok(workerId.includes(hostname()), workerId);
    assert.ok(Object.isFrozen(config));
  });

  it('parses the values it is given', () => {
    const config = loadWorkerConfig({
      MASTER_ADDRESS: 'master.internal:7000',
      WORKER_CONCURRENCY: '4',
      WORKER_POLL_DEADLINE_MS: '5000',
      MAX_MESSAGE_BYTES: String(16 * 1024 * 1024),
      WORKER_ALIVE_FILE: '/tmp/alive',
      WORKER_ID: 'w-7',
      LOG_LEVEL: 'silent',
    });
    assert.deepEqual(
      { ...config },
      {
        masterAddress: 'master.internal:7000',
        concurrency: 4,
        pollDeadlineMs: 5000,
        maxMessageBytes: 16 * 1024 * 1024,
        aliveFile: '/tmp/alive',
        workerId: 'w-7',
        logLevel: 'silent',
      },
    );
  });

  it("MASTER_ADDRESS='' (and blank) falls back to the default", () => {
    assert.equal(loadWorkerConfig({ MASTER_ADDRESS: '' }).masterAddress, '127.0.0.1:50051');
    assert.equal(loadWorkerConfig({ MASTER_ADDRESS: '  ' }).masterAddress, '127.0.0.1:50051');
  });

  it('worker ids are unique per load (even with WORKER_ID empty) and include the hostname', () => {
    const env: Env = { WORKER_ID: '' };
    const ids = new Set(Array.from({ length: 20 }, () => loadWorkerConfig(env).workerId));
    assert.equal(ids.size, 20);
    for (const id of ids) assert.ok(id.startsWith(`worker-${hostname()}-${process.pid}-`), id);
  });

  it('overrides win over the environment', () => {
    const config = loadWorkerConfig({ WORKER_CONCURRENCY: '8', WORKER_ID: 'env-id' }, { concurrency: 2, workerId: 'override-id' });
    assert.equal(config.concurrency, 2);
    assert.equal(config.workerId, 'override-id');
  });

  const bad: Array<[name: string, value: string, ...patterns: RegExp[]]> = [
    ['MASTER_ADDRESS', 'nonsense', /must be host:port/, /Set MASTER_ADDRESS to host:port, for example 127\.0\.0\.1:50051/],
    ['MASTER_ADDRESS', 'host:70000', /port must be 0\.\.65535/, /Set MASTER_ADDRESS/],
    ['WORKER_CONCURRENCY', '0', /must be at least 1/, /Set WORKER_CONCURRENCY to a whole number from 1 to 64/],
    ['WORKER_CONCURRENCY', 'two', /got "two"/, /Set WORKER_CONCURRENCY/],
    ['WORKER_POLL_DEADLINE_MS', '10', /must be at least 1000/, /Set WORKER_POLL_DEADLINE_MS/],
    ['LOG_LEVEL', 'loud', /must be one of/, /Set LOG_LEVEL to one of fatal, error, warn, info, debug, trace, silent/],
  ];
  for (const [name, value, ...patterns] of bad) {
    it(`${name}=${JSON.stringify(value)} → ConfigError naming ${name} and the fix`, () => {
      configError(() => loadWorkerConfig({ [name]: value }), name, ...patterns);
    });
  }
});

describe('the CLI with a bad variable', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-config-cli-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  // Even if validation were broken, these keep the process off fixed ports and the shared data dir.
  const safeEnv = (): Record<string, string | undefined> => ({
    GRPC_LISTEN: '127.0.0.1:0',
    EMBEDDED_DB_DIR: join(dir, 'db'),
    EMBEDDED_DB_PORT: '0',
    OUTPUT_DIR: join(dir, 'out'),
    DATABASE_URL: undefined,
    LOG_LEVEL: undefined,
  });

  it('`tessera master` with STRIP_PIXELS=abc exits 2 naming STRIP_PIXELS and the fix, starting nothing', { timeout: 30_000 }, async () => {
    const started = Date.now();
    const result = await runCli(['master'], { ...safeEnv(), STRIP_PIXELS: 'abc' }, 20_000);
    assert.equal(result.code, 2, `exit code\n${result.stderr}`);
    assert.match(result.stderr, /tessera: configuration error: STRIP_PIXELS: /);
    assert.match(result.stderr, /got "abc"/);
    assert.match(result.stderr, /Set STRIP_PIXELS to a whole number from 65536 to 1000000000, or unset it for the default 16000000\./);
    assert.doesNotMatch(result.stderr, /embedded PostgreSQL/);
    assert.equal(result.stdout, '');
    assert.deepEqual(await readdir(dir), [], 'no database or output folder was created');
    assert.ok(Date.now() - started < 15_000, 'exits promptly');
  });

  it('`tessera worker` with MASTER_ADDRESS=nonsense exits 2 naming MASTER_ADDRESS and the fix', { timeout: 30_000 }, async () => {
    const result = await runCli(['worker'], { ...safeEnv(), MASTER_ADDRESS: 'nonsense' }, 20_000);
    assert.equal(result.code, 2, `exit code\n${result.stderr}`);
    assert.match(result.stderr, /tessera: configuration error: MASTER_ADDRESS: must be host:port/);
    assert.match(result.stderr, /Set MASTER_ADDRESS to host:port, for example 127\.0\.0\.1:50051\./);
  });
});
