/**
 * A master on a fresh PostgreSQL database with in-process workers and a plain pg client to insert
 * rows as a user would: the set-up of the tests that feed the master batteries of requests.
 */
import pg from 'pg';
import type { RunningMaster } from '../../master/start-master.js';
import type { TileWorker } from '../../worker/tile-worker.js';
import { startTestMaster, startWorkers } from './cluster.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

export interface PostgresCluster {
  readonly database: TestDatabase;
  readonly master: RunningMaster;
  readonly workers: readonly TileWorker[];
  /** Connected to the database, for INSERTs and SELECTs of the test's own. */
  readonly client: pg.Client;
  /** Stops workers and master at once, drops the database. */
  stop(): Promise<void>;
}

export async function startPostgresCluster(options: { readonly outputDir: string; readonly workers: number; readonly prefix: string }): Promise<PostgresCluster> {
  const database = await createTestDatabase();
  const master = await startTestMaster({ databaseUrl: database.url, outputDir: options.outputDir, pollIntervalMs: 100 });
  const workers = startWorkers(options.workers, master.grpcPort, options.prefix);
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  return {
    database,
    master,
    workers,
    client,
    async stop() {
      await client.end();
      await Promise.all(workers.map((w) => w.stop({ graceful: false })));
      await master.stop({ graceful: false, timeoutMs: 2_000 });
      await database.drop();
    },
  };
}
