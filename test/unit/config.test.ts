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

/** A valid worker token (tests only). */
const TOKEN = 'test-token-0123456789abcdef';

describe('loadMasterConfig: EarthDaily variables', () => {
  it('rejects a malformed band layout, box limit or mosaic URL, naming the variable and the fix', () => {
    configError(() => loadMasterConfig({ EARTHDAILY_BANDS: 'red=three' }), 'EARTHDAILY_BANDS', /not NAME=NUMBER/, /blue=1,green=2,red=3,nir=4/);
    configError(() => loadMasterConfig({ EARTHDAILY_BANDS: 'thermal=7' }), 'EARTHDAILY_BANDS', /unknown band "thermal"/);
    configError(() => loadMasterConfig({ EARTHDAILY_BANDS: 'red=0' }), 'EARTHDAILY_BANDS', /start at 1/);
    configError(() => loadMasterConfig({ MAX_BBOX_DEG: '-1' }), 'MAX_BBOX_DEG', /at least/);
    configError(() => loadMasterConfig({ MAX_BBOX_DEG: 'wide' }), 'MAX_BBOX_DEG', /must be a number/);
    configError(() => loadMasterConfig({ EARTHDAILY_MOSAIC_URL: 'mosaic.tif' }), 'EARTHDAILY_MOSAIC_URL', /http\(s\) URL/);
  });

  it('rejects a malformed METRICS_LISTEN or WORKER_STATS_MS, naming the fix', () => {
    configError(() => loadMasterConfig({ METRICS_LISTEN: '9464' }), 'METRICS_LISTEN', /host:port/, /127\.0\.0\.1:9464, or unset it/);
    configError(() => loadMasterConfig({ METRICS_LISTEN: 'localhost:99999' }), 'METRICS_LISTEN', /port must be/);
    configError(() => loadMasterConfig({ WORKER_STATS_MS: '10' }), 'WORKER_STATS_MS', /at least 100/);
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
      grpcListen: '127.0.0.1:50051',
      workerToken: undefined,
      grpcTlsCert: undefined,
      grpcTlsKey: undefined,
      grpcTlsCa: undefined,
      stripPixels: 16_000_000,
      stripDeflate: 'auto',
      stripBufferBytes: 64 * 1024 * 1024,
      maxInflightTiles: 64,
      tileLeaseMs: 60_000,
      tileMaxAttempts: 5,
      longPollMs: 20_000,
      pollIntervalMs: 2_000,
      requestStaleMs: 30_000,
      checkpointMs: 1_000,
      requestMaxAttempts: 5,
      maxMessageBytes: 64 * 1024 * 1024,
      shutdownTimeoutMs: 20_000,
      earthdailyMosaicUrl: undefined,
      earthdailyBands: { blue: 1, green: 2, red: 3, nir: 4 },
      maxBboxDeg: 0.42,
      maxRequestPixels: 250_000_000,
      logLevel: 'info',
      readTimeoutMs: 30_000,
      verifyFraction: 0,
      verifyWaitMs: 30_000,
      retentionDays: 0,
      workerStatsMs: 2_000,
      metricsListen: undefined,
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
      GRPC_LISTEN: ' 0.0.0.0:6000 ',
      WORKER_TOKEN: ' 0123456789abcdef0123 ',
      GRPC_TLS_CERT: '/etc/tessera/master.crt',
      GRPC_TLS_KEY: '/etc/tessera/master.key',
      GRPC_TLS_CA: '/etc/tessera/ca.crt',
      STRIP_PIXELS: ' 1000000 ',
      STRIP_DEFLATE: 'isal',
      STRIP_BUFFER_BYTES: '0',
      MAX_INFLIGHT_TILES: '4',
      TILE_LEASE_MS: '1500',
      TILE_MAX_ATTEMPTS: '2',
      LONG_POLL_MS: '100',
      POLL_INTERVAL_MS: '50',
      REQUEST_STALE_MS: '1000',
      CHECKPOINT_MS: '250',
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
      VERIFY_FRACTION: '0.05',
      VERIFY_WAIT_MS: '5000',
      WORKER_STATS_MS: ' 500 ',
      METRICS_LISTEN: ' 0.0.0.0:9464 ',
    });
    assert.deepEqual(
      { ...config },
      {
        databaseUrl: 'postgresql://tessera:pw@db.example:5433/mosaics',
        embeddedDbDir: '/var/lib/tessera',
        embeddedDbPort: 0,
        outputDir: '/srv/out',
        grpcListen: '0.0.0.0:6000',
        workerToken: '0123456789abcdef0123',
        grpcTlsCert: '/etc/tessera/master.crt',
        grpcTlsKey: '/etc/tessera/master.key',
        grpcTlsCa: '/etc/tessera/ca.crt',
        stripPixels: 1_000_000,
        stripDeflate: 'isal',
        stripBufferBytes: 0,
        maxInflightTiles: 4,
        tileLeaseMs: 1500,
        tileMaxAttempts: 2,
        longPollMs: 100,
        pollIntervalMs: 50,
        requestStaleMs: 1000,
        checkpointMs: 250,
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
        verifyFraction: 0.05,
        verifyWaitMs: 5000,
        retentionDays: 30,
        workerStatsMs: 500,
        metricsListen: '0.0.0.0:9464',
      },
    );
  });

  it('accepts postgres:// URLs, IPv6 and host-name listen addresses, and port 0', () => {
    assert.equal(loadMasterConfig({ DATABASE_URL: 'postgres://localhost/x' }).databaseUrl, 'postgres://localhost/x');
    assert.equal(loadMasterConfig({ GRPC_LISTEN: '[::1]:50051' }).grpcListen, '[::1]:50051');
    assert.equal(loadMasterConfig({ GRPC_LISTEN: 'master.internal:0', WORKER_TOKEN: TOKEN }).grpcListen, 'master.internal:0');
    assert.equal(loadMasterConfig({ GRPC_LISTEN: '127.0.0.1:65535' }).grpcListen, '127.0.0.1:65535');
  });

  it('treats empty and blank values as unset', () => {
    const config = loadMasterConfig({ STRIP_PIXELS: '', TILE_SIZE: ' ', GRPC_LISTEN: '   ', DATABASE_URL: '', LOG_LEVEL: ' ', MASTER_ID: '' });
    assert.equal(config.stripPixels, 16_000_000);
    assert.equal(config.grpcListen, '127.0.0.1:50051');
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
    ['GRPC_LISTEN', 'nonsense', /must be host:port/, /got "nonsense"/, /Set GRPC_LISTEN to host:port, for example 127\.0\.0\.1:50051/],
    ['GRPC_LISTEN', 'host:70000', /port must be 0\.\.65535/, /Set GRPC_LISTEN to host:port/],
    ['GRPC_LISTEN', ':50051', /must be host:port/, /Set GRPC_LISTEN/],
    ['DATABASE_URL', 'mysql://x', /must be a postgres:\/\/ URL/, /Set DATABASE_URL like postgres:\/\/user:password@host:5432\/database/, /embedded database/],
    ['VERIFY_FRACTION', '1.5', /must be at most 1/, /got "1.5"/, /Set VERIFY_FRACTION to a number from 0 to 1, or unset it for the default 0/],
    ['VERIFY_FRACTION', '-0.1', /must be at least 0/, /Set VERIFY_FRACTION/],
    ['VERIFY_FRACTION', '5%', /must be a number/, /Set VERIFY_FRACTION/],
    ['VERIFY_WAIT_MS', '10', /must be at least 100/, /Set VERIFY_WAIT_MS to a whole number from 100 to 3600000/],
    ['LOG_LEVEL', 'loud', /must be one of fatal, error, warn, info, debug, trace, silent/, /got "loud"/, /Set LOG_LEVEL to one of/],
  ];
  for (const [name, value, ...patterns] of bad) {
    it(`${name}=${JSON.stringify(value)} → ConfigError naming ${name} and the fix`, () => {
      configError(() => loadMasterConfig({ [name]: value }), name, ...patterns);
    });
  }
});

describe('loadMasterConfig: the tile service is never open beyond this machine', () => {
  it('serves without a token on loopback only: 127.0.0.0/8, [::1], localhost', () => {
    for (const listen of ['127.0.0.1:50051', '127.1.2.3:0', '[::1]:50051', 'localhost:50051', 'LOCALHOST:1']) {
      assert.equal(loadMasterConfig({ GRPC_LISTEN: listen }).workerToken, undefined, listen);
    }
  });

  it('refuses any other listen address without WORKER_TOKEN, naming WORKER_TOKEN, the address and both fixes', () => {
    for (const listen of ['0.0.0.0:50051', '[::]:50051', '10.0.0.5:50051', 'master.internal:50051', '128.0.0.1:1']) {
      configError(
        () => loadMasterConfig({ GRPC_LISTEN: listen }),
        'WORKER_TOKEN',
        new RegExp(`not set, and GRPC_LISTEN=${listen.replace(/[.[\]]/g, '\\$&')} accepts workers from other machines`),
        /openssl rand -hex 32/,
        /GRPC_LISTEN=127\.0\.0\.1:50051/,
      );
    }
    assert.equal(loadMasterConfig({ GRPC_LISTEN: '0.0.0.0:50051', WORKER_TOKEN: TOKEN }).workerToken, TOKEN);
  });

  it('checks the listen address after the overrides (tessera master --listen)', () => {
    configError(() => loadMasterConfig({}, { grpcListen: '0.0.0.0:50051' }), 'WORKER_TOKEN', /GRPC_LISTEN=0\.0\.0\.0:50051/);
    assert.equal(loadMasterConfig({ GRPC_LISTEN: '0.0.0.0:1' }, { grpcListen: '127.0.0.1:0' }).grpcListen, '127.0.0.1:0');
  });

  it('a malformed WORKER_TOKEN is a ConfigError that never shows the value', () => {
    for (const [value, problem] of [
      ['short-secret', /must be at least 16 characters \(got 12 characters\)/],
      ['has a space in it somewhere', /may use only letters, digits/],
      ['quote"in-the-token-here', /may use only letters, digits/],
    ] as const) {
      const error = configError(() => loadMasterConfig({ WORKER_TOKEN: value }), 'WORKER_TOKEN', problem, /openssl rand -hex 32/);
      assert.ok(!error.message.includes(value), error.message);
      const workerError = configError(() => loadWorkerConfig({ WORKER_TOKEN: value }), 'WORKER_TOKEN', problem);
      assert.ok(!workerError.message.includes(value), workerError.message);
    }
  });

  it('TLS settings come in complete sets', () => {
    configError(() => loadMasterConfig({ GRPC_TLS_CERT: '/c.crt' }), 'GRPC_TLS_KEY', /not set, but GRPC_TLS_CERT is/);
    configError(() => loadMasterConfig({ GRPC_TLS_KEY: '/c.key' }), 'GRPC_TLS_CERT', /not set, but GRPC_TLS_KEY is/);
    configError(() => loadMasterConfig({ GRPC_TLS_CA: '/ca.crt' }), 'GRPC_TLS_CA', /client certificates need TLS/, /Set GRPC_TLS_CERT and GRPC_TLS_KEY too/);
    const mtls = loadMasterConfig({ GRPC_TLS_CERT: '/c.crt', GRPC_TLS_KEY: '/c.key', GRPC_TLS_CA: '/ca.crt' });
    assert.deepEqual([mtls.grpcTlsCert, mtls.grpcTlsKey, mtls.grpcTlsCa], ['/c.crt', '/c.key', '/ca.crt']);
  });
});

describe('loadWorkerConfig: TLS settings', () => {
  it('a client certificate comes with its key and is only sent over TLS (MASTER_TLS_CA)', () => {
    configError(() => loadWorkerConfig({ MASTER_TLS_CA: '/ca', WORKER_TLS_CERT: '/w.crt' }), 'WORKER_TLS_KEY', /not set, but WORKER_TLS_CERT is/);
    configError(() => loadWorkerConfig({ MASTER_TLS_CA: '/ca', WORKER_TLS_KEY: '/w.key' }), 'WORKER_TLS_CERT', /not set, but WORKER_TLS_KEY is/);
    configError(() => loadWorkerConfig({ WORKER_TLS_CERT: '/w.crt', WORKER_TLS_KEY: '/w.key' }), 'MASTER_TLS_CA', /only sent over TLS/);
    assert.equal(loadWorkerConfig({ MASTER_TLS_CA: '/ca' }).masterTlsCa, '/ca');
  });

  it('overrides take part in the check', () => {
    configError(() => loadWorkerConfig({ MASTER_TLS_CA: '/ca', WORKER_TLS_CERT: '/w.crt', WORKER_TLS_KEY: '/w.key' }, { masterTlsCa: undefined }), 'MASTER_TLS_CA');
  });
});

describe('loadWorkerConfig', () => {
  it('DIRECT_READS takes on/off (and true/false, yes/no, 1/0); anything else names the fix', () => {
    for (const [text, on] of [['on', true], ['1', true], ['YES', true], ['true', true], ['off', false], ['0', false], ['no', false], ['False', false]] as const) {
      assert.equal(loadWorkerConfig({ DIRECT_READS: text }).directReads, on, text);
    }
    configError(() => loadWorkerConfig({ DIRECT_READS: 'sometimes' }), 'DIRECT_READS', /must be on or off/, /Set DIRECT_READS to on or off/);
  });

  it('INFLATE_LIBRARY is auto, libdeflate or zlib; anything else names the fix', () => {
    for (const word of ['auto', 'libdeflate', 'zlib'] as const) assert.equal(loadWorkerConfig({ INFLATE_LIBRARY: word }).inflateLibrary, word);
    configError(() => loadWorkerConfig({ INFLATE_LIBRARY: 'pako' }), 'INFLATE_LIBRARY', /must be one of auto, libdeflate, zlib \(got "pako"\)/, /Set INFLATE_LIBRARY to one of auto, libdeflate, zlib, or unset it for the default auto/);
  });

  it('has defaults for an empty environment', () => {
    const config = loadWorkerConfig({});
    const { workerId, ...rest } = config;
    assert.deepEqual(rest, {
      masterAddress: '127.0.0.1:50051',
      workerToken: undefined,
      masterTlsCa: undefined,
      workerTlsCert: undefined,
      workerTlsKey: undefined,
      concurrency: 1,
      pollDeadlineMs: 30_000,
      maxMessageBytes: 64 * 1024 * 1024,
      directReads: true,
      directWrites: true,
      inflateLibrary: 'auto',
      aliveFile: undefined,
      logLevel: 'info',
    });
    assert.ok(workerId.includes(hostname()), workerId);
    assert.ok(Object.isFrozen(config));
  });

  it('parses the values it is given', () => {
    const config = loadWorkerConfig({
      MASTER_ADDRESS: 'master.internal:7000',
      WORKER_TOKEN: TOKEN,
      MASTER_TLS_CA: '/certs/ca.crt',
      WORKER_TLS_CERT: '/certs/worker.crt',
      WORKER_TLS_KEY: '/certs/worker.key',
      WORKER_CONCURRENCY: '4',
      WORKER_POLL_DEADLINE_MS: '5000',
      MAX_MESSAGE_BYTES: String(16 * 1024 * 1024),
      DIRECT_READS: 'Off',
      DIRECT_WRITES: 'no',
      INFLATE_LIBRARY: 'zlib',
      WORKER_ALIVE_FILE: '/tmp/alive',
      WORKER_ID: 'w-7',
      LOG_LEVEL: 'silent',
    });
    assert.deepEqual(
      { ...config },
      {
        masterAddress: 'master.internal:7000',
        workerToken: TOKEN,
        masterTlsCa: '/certs/ca.crt',
        workerTlsCert: '/certs/worker.crt',
        workerTlsKey: '/certs/worker.key',
        concurrency: 4,
        pollDeadlineMs: 5000,
        maxMessageBytes: 16 * 1024 * 1024,
        directReads: false,
        directWrites: false,
        inflateLibrary: 'zlib',
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

  it('`tessera master` on 0.0.0.0 without WORKER_TOKEN exits 2 naming WORKER_TOKEN and the fix, starting nothing', { timeout: 30_000 }, async () => {
    const result = await runCli(['master', '--listen', '0.0.0.0:0'], { ...safeEnv(), WORKER_TOKEN: undefined }, 20_000);
    assert.equal(result.code, 2, `exit code\n${result.stderr}`);
    assert.match(result.stderr, /tessera: configuration error: WORKER_TOKEN: not set, and GRPC_LISTEN=0\.0\.0\.0:0 accepts workers from other machines/);
    assert.match(result.stderr, /Set WORKER_TOKEN to a random secret \(e\.g\. `openssl rand -hex 32`\)/);
    assert.deepEqual(await readdir(dir), [], 'no database or output folder was created');
  });

  it('`tessera worker` with MASTER_ADDRESS=nonsense exits 2 naming MASTER_ADDRESS and the fix', { timeout: 30_000 }, async () => {
    const result = await runCli(['worker'], { ...safeEnv(), MASTER_ADDRESS: 'nonsense' }, 20_000);
    assert.equal(result.code, 2, `exit code\n${result.stderr}`);
    assert.match(result.stderr, /tessera: configuration error: MASTER_ADDRESS: must be host:port/);
    assert.match(result.stderr, /Set MASTER_ADDRESS to host:port, for example 127\.0\.0\.1:50051\./);
  });
});
