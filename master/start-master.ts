/**
 * The master's composition root: the request store (a given one, or PostgreSQL: central, or embedded
 * PGlite when DATABASE_URL is unset, migrated; open-store.ts), tile dispatcher, gRPC server, the
 * claim loop and retention, wired together; and their orderly shutdown in reverse.
 */
import { resolve } from 'node:path';
import type { MasterConfig } from '../shared/config/master-config.js';
import type { Logger } from '../shared/logger.js';
import type { RequestStore } from './store/request-store.js';
import { BufferPool } from '../shared/buffer-pool.js';
import { checkOutputFolder } from './output/output-folder.js';
import { TileDispatcher } from './dispatch/tile-dispatcher.js';
import { loadServerTls } from './dispatch/server-credentials.js';
import { startTileServer } from './dispatch/tile-server.js';
import { RequestClaimer } from './request-claimer.js';
import { MasterEvents } from './master-events.js';
import { beginOpeningPostgresStore, type OpenedStore } from './open-store.js';
import { describeDataLakeTarget, type DataLakeSettings } from './output/datalake-config.js';
import { RetentionTask } from './maintenance/retention-task.js';
import { startObservers } from './observe/observers.js';
import { loadMasterCodecs } from './master-codecs.js';

/**
 * Reused buffers for the messages carrying source blocks: 2 MiB holds a Sentinel-2 1024² uint16
 * DEFLATE block (about 1.5 MB) with room to spare; 16 covers a few workers' streams in flight.
 */
const MESSAGE_BUFFERS = { keep: 16, minimumSize: 2 * 1024 * 1024 } as const;

export interface RunningMaster {
  readonly masterId: string;
  /** The port the tile service listens on (useful with GRPC_LISTEN=…:0). */
  readonly grpcPort: number;
  /** The database URL in use: the central one, or the embedded server's; undefined on a given store. */
  readonly databaseUrl: string | undefined;
  readonly embedded: boolean;
  readonly store: RequestStore;
  /** Typed events of the master's work (master-events.ts), for metrics and tests. */
  readonly events: MasterEvents;
  /** The port of GET /metrics (METRICS_LISTEN); undefined when it is off. */
  readonly metricsPort: number | undefined;
  stop(options?: { graceful?: boolean; timeoutMs?: number }): Promise<void>;
}

export interface MasterExtras {
  /** Azure Data Lake settings (loadDataLakeSettings); absent: outputs stay on the volume only. */
  readonly dataLake?: DataLakeSettings | undefined;
  /**
   * Keep the requests here instead of in PostgreSQL (DATABASE_URL and the embedded database are then
   * not used): a one-shot run's in-memory store. The caller owns it; stop() leaves it be.
   */
  readonly store?: RequestStore | undefined;
  /** The master's events, made by the caller so it can listen before the master starts (tessera run). */
  readonly events?: MasterEvents | undefined;
  /** Draws which strips VERIFY_FRACTION samples (a test's seeded sequence); default Math.random. */
  readonly verifyRandom?: (() => number) | undefined;
}

export async function startMaster(config: MasterConfig, log: Logger, extras: MasterExtras = {}): Promise<RunningMaster> {
  // A folder the master cannot write to is one clear message now, not requests failing later.
  await checkOutputFolder(resolve(config.outputDir));
  const tls = await loadServerTls(config); // before the database: a bad certificate path stops nothing half-started
  // The store opens while the tile service starts and the runner's modules load: PGlite's start
  // reads and copies files (the template, 15 MB of WebAssembly and data) in between. On an existing
  // embedded folder, ready 1.18 -> 1.12 s, on a new one 1.48 -> 1.38 s (medians of 7, 2026-12-01,
  // load 6-8).
  const opening: Promise<OpenedStore> = extras.store
    ? Promise.resolve({ store: extras.store, url: undefined, embedded: false, close: async () => undefined })
    : (await beginOpeningPostgresStore(config, log)).store;
  const events = extras.events ?? new MasterEvents((error, event) => log.error({ error: String(error), event }, 'a master event listener threw'));
  const dispatcher = new TileDispatcher({
    events,
    leaseMs: config.tileLeaseMs,
    maxAttempts: config.tileMaxAttempts,
    log: log.child({ scope: 'dispatcher' }),
  });
  const server = await startTileServer({
    dispatcher,
    listen: config.grpcListen,
    longPollMs: config.longPollMs,
    maxMessageBytes: config.maxMessageBytes,
    log: log.child({ scope: 'tile-server' }),
    workerToken: config.workerToken,
    tls,
  }).catch(async (error: unknown) => {
    await opening.then((database) => database.close(), () => undefined);
    throw error;
  });
  let database: OpenedStore;
  let RequestRunner: typeof import('./request-runner.js').RequestRunner;
  try {
    // Loaded once the tile service listens, so workers can connect meanwhile: the runner's modules
    // (GeoTIFF, PNG, projections) are most of start-up.
    ({ RequestRunner } = await import('./request-runner.js'));
    database = await opening;
  } catch (error) {
    await server.stop({ timeoutMs: 0 });
    await opening.then((opened) => opened.close(), () => undefined);
    throw error;
  }
  const { store } = database;
  // The Data Lake SDK only when uploads are on.
  const uploader = extras.dataLake
    ? new (await import('./output/datalake-uploader.js')).DataLakeUploader({ settings: extras.dataLake, log: log.child({ scope: 'datalake' }) })
    : undefined;
  log.info({ uploads: extras.dataLake ? describeDataLakeTarget(extras.dataLake) : 'off' }, 'output uploads');
  const codecs = await loadMasterCodecs(config.stripDeflate, { log });
  const runner = new RequestRunner({
    uploader,
    store,
    dispatcher,
    masterId: config.masterId,
    outputDir: resolve(config.outputDir),
    requestDefaults: {
      earthdailyUrl: config.earthdailyMosaicUrl,
      earthdailyBands: config.earthdailyBands,
    },
    maxBboxDeg: config.maxBboxDeg,
    maxRequestPixels: config.maxRequestPixels,
    readTimeoutMs: config.readTimeoutMs,
    stripPixels: config.stripPixels,
    stripDeflate: codecs.stripDeflate,
    crc32: codecs.crc32,
    previewDeflater: codecs.previewDeflater,
    stripBufferBytes: config.stripBufferBytes,
    maxInflightTiles: config.maxInflightTiles,
    verifyFraction: config.verifyFraction,
    verifyWaitMs: config.verifyWaitMs,
    verifyRandom: extras.verifyRandom,
    messageMemory: new BufferPool(MESSAGE_BUFFERS),
    heartbeatMs: Math.max(250, Math.floor(config.requestStaleMs / 4)),
    checkpointMs: config.checkpointMs,
    // A given store is a one-shot run's: nobody claims its request again, so a stop leaves nothing.
    resumable: extras.store === undefined,
    maxAttempts: config.requestMaxAttempts,
    events,
    log: log.child({ scope: 'runner' }),
  });
  const claimer = new RequestClaimer({
    store,
    processor: runner,
    masterId: config.masterId,
    pollIntervalMs: database.embedded ? Math.min(config.pollIntervalMs, 250) : config.pollIntervalMs,
    requestStaleMs: config.requestStaleMs,
    log: log.child({ scope: 'claimer' }),
  });
  const observers = await startObservers(config, { events, store, log }).catch(async (error: unknown) => {
    await server.stop({ timeoutMs: 0 });
    await database.close();
    throw error;
  });
  await claimer.start();
  const retention = startRetention(config, database, log);
  log.info({ masterId: config.masterId, grpcPort: server.port, embedded: database.embedded }, 'master started');

  return {
    masterId: config.masterId,
    grpcPort: server.port,
    databaseUrl: database.url,
    embedded: database.embedded,
    store,
    events,
    metricsPort: observers.metricsPort,
    async stop({ graceful = true, timeoutMs = config.shutdownTimeoutMs } = {}) {
      log.info({ graceful, timeoutMs }, 'master stopping');
      await retention?.stop();
      await claimer.stop({ graceful, timeoutMs });
      await server.stop({ timeoutMs: graceful ? 5_000 : 0 });
      await observers.stop(); // the last worker statistics, before the database closes
      await database.close();
      codecs.close();
      log.info('master stopped');
    },
  };
}
/** RETENTION_DAYS > 0 on a PostgreSQL store: the hourly purge of finished requests (off otherwise). */
function startRetention(config: MasterConfig, database: OpenedStore, log: Logger): RetentionTask | undefined {
  if (config.retentionDays <= 0) return undefined;
  if (!database.purge) {
    log.info({ retentionDays: config.retentionDays }, 'retention does not apply to an in-memory store');
    return undefined;
  }
  const task = new RetentionTask({
    purge: database.purge,
    retentionDays: config.retentionDays,
    outputDir: resolve(config.outputDir),
    log: log.child({ scope: 'retention' }),
  });
  task.start();
  log.info({ retentionDays: config.retentionDays }, 'retention on: finished requests older than this are purged hourly');
  return task;
}
