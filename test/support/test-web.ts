/** tessera web on a fresh test database (migrated), on a free loopback port, for API and browser tests. */
import { connectDatabase, type Database } from '../../master/db/database.js';
import { migrate } from '../../master/db/migrate.js';
import { PostgresRequestStore } from '../../master/db/request-store.js';
import type { RequestStore } from '../../master/store/request-store.js';
import { loadWebConfig } from '../../shared/config/web-config.js';
import { createLogger } from '../../shared/logger.js';
import { clientRequestDefaults } from '../../shared/request/check-request.js';
import { startWeb } from '../../web/start-web.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

export interface TestWeb {
  readonly url: string;
  readonly database: TestDatabase;
  readonly db: Database;
  readonly store: RequestStore;
  stop(): Promise<void>;
}

/** `env`: WEB_* variables (WEB_LISTEN defaults to 127.0.0.1:0). `database`: an existing one, else a new one dropped by stop(). */
export async function startTestWeb(env: Record<string, string> = {}, database?: TestDatabase): Promise<TestWeb> {
  const own = database ?? (await createTestDatabase());
  const db = connectDatabase({ url: own.url, maxConnections: 4, notifications: false, onError: () => undefined });
  await migrate(db);
  const store = new PostgresRequestStore(db);
  const config = loadWebConfig({ WEB_LISTEN: '127.0.0.1:0', LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent', ...env });
  const web = await startWeb({ store, config, defaults: clientRequestDefaults({}), log: createLogger('test-web', config.logLevel), feedIntervalMs: 200 });
  return {
    url: web.url,
    database: own,
    db,
    store,
    async stop() {
      await web.stop();
      await db.close();
      if (!database) await own.drop();
    },
  };
}
