/**
 * The master's composition root: database (central, or embedded PGlite when DATABASE_URL is unset),
 * migrations, tile dispatcher, gRPC server and the claim loop, wired together; and their orderly
 * shutdown in reverse.
 */
import { resolve } from 'node:path';
import type { MasterConfig } from '../shared/config/master-config.js';
import type { Logger } from '../shared/logger.js';
import { connectDatabase, type Database } from './db/database.js';
import { startEmbeddedPostgres } from './db/embedded-postgres.js';
import { migrate } from './db/migrate.js';
import { PostgresRequestStore, type RequestStore } from './db/request-store.js';
import { TileDispatcher } from './dispatch/tile-dispatcher.js';
import { startTileServer } from './dispatch/tile-server.js';
import { RequestClaimer } from './request-claimer.js';
import { describeDataLakeTarget, type DataLakeSettings } from './output/datalake-config.js';
import { DataLakeUploader } from './output/datalake-uploader.js';
import { RequestRunner } from './request-runner.js';

export interface RunningMaster {
  readonly masterId: string;
  /** The port the tile service listens on (useful with GRPC_LISTEN=…:0). */
  readonly grpcPort: number;
  /** The database URL in use: the central one, or the embedded server's. */
  readonly databaseUrl: string;
  readonly embedded: boolean;
  readonly store: RequestStore;
  stop(options?: { graceful?: boolean; timeoutMs?: number }): Promise<void>;
}

async function openDatabase(
  config: MasterConfig,
  log: Logger,
): Promise<{ db: Database; url: string; embedded: boolean; closeServer: () => Promise<void> }> {
  const onError = (error: Error): void => log.error({ error: error.message }, 'database connection error');
  if (config.databaseUrl) {
    const db = connectDatabase({ url: config.databaseUrl, maxConnections: 4, notifications: true, onError });
    return { db, url: config.databaseUrl, embedded: false, closeServer: async () => undefined };
  }
  const embedded = await startEmbeddedPostgres({
    dataDir: resolve(config.embeddedDbDir),
    port: config.embeddedDbPort,
    log: log.child({ scope: 'embedded-postgres' }),
  });
  log.info({ url: embedded.url, dataDir: resolve(config.embeddedDbDir) }, 'embedded PostgreSQL (PGlite) started');
  // pglite-socket runs every connection on one session: keep the master on one connection and poll.
  const db = connectDatabase({ url: embedded.url, maxConnections: 1, notifications: false, onError });
  return { db, url: embedded.url, embedded: true, closeServer: () => embedded.stop() };
}

export interface MasterExtras {
  /** Azure Data Lake settings (loadDataLakeSettings); absent: outputs stay on the volume only. */
  readonly dataLake?: DataLakeSettings | undefined;
}

export async function startMaster(config: MasterConfig, log: Logger, extras: MasterExtras = {}): Promise<RunningMaster> {
  const database = await openDatabase(config, log);
  const { db } = database;
  try {
    await migrate(db);
  } catch (error) {
    await db.close();
    await database.closeServer();
    throw error;
  }
  const store = new PostgresRequestStore(db);
  const dispatcher = new TileDispatcher({
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
  });
  const uploader = extras.dataLake
    ? new DataLakeUploader({ settings: extras.dataLake, log: log.child({ scope: 'datalake' }) })
    : undefined;
  log.info({ uploads: extras.dataLake ? describeDataLakeTarget(extras.dataLake) : 'off' }, 'output uploads');
  const runner = new RequestRunner({
    uploader,
    store,
    dispatcher,
    masterId: config.masterId,
    outputDir: resolve(config.outputDir),
    requestDefaults: {
      tileSize: config.tileSize,
      earthdailyUrl: config.earthdailyMosaicUrl,
      earthdailyBands: config.earthdailyBands,
    },
    maxBboxDeg: config.maxBboxDeg,
    maxRequestPixels: config.maxRequestPixels,
    maxInflightTiles: config.maxInflightTiles,
    heartbeatMs: Math.max(250, Math.floor(config.requestStaleMs / 4)),
    maxAttempts: config.requestMaxAttempts,
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
  await claimer.start();
  log.info({ masterId: config.masterId, grpcPort: server.port, embedded: database.embedded }, 'master started');

  return {
    masterId: config.masterId,
    grpcPort: server.port,
    databaseUrl: database.url,
    embedded: database.embedded,
    store,
    async stop({ graceful = true, timeoutMs = config.shutdownTimeoutMs } = {}) {
      log.info({ graceful, timeoutMs }, 'master stopping');
      await claimer.stop({ graceful, timeoutMs });
      await server.stop({ timeoutMs: graceful ? 5_000 : 0 });
      await db.close();
      await database.closeServer();
      log.info('master stopped');
    },
  };
}
