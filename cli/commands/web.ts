/** `tessera web`: the web client and its HTTP API, on the same database as the masters, until stopped. */
import type { Command } from 'commander';
import { loadWebConfig } from '../../shared/config/web-config.js';
import { createLogger } from '../../shared/logger.js';
import { clientRequestDefaults } from '../../shared/request/check-request.js';
import { openClientStore } from '../client-store.js';
import { stopOnSignals } from '../shutdown.js';

export function webCommand(program: Command): void {
  program
    .command('web')
    .description('serve the web client: the request table, a request form, results on a map, the workers; the HTTP API and /metrics')
    .option('--listen <host:port>', 'address to serve on (WEB_LISTEN)')
    .option('--database-url <url>', 'database to read and insert into (default: DATABASE_URL, else the local embedded one)')
    .action(async (options: { listen?: string; databaseUrl?: string }) => {
      const env = options.listen ? { ...process.env, WEB_LISTEN: options.listen } : process.env;
      const config = loadWebConfig(env);
      const log = createLogger('tessera-web', config.logLevel);
      const { startWeb } = await import('../../web/start-web.js'); // the web server's packages, loaded on use
      const { store, close } = await openClientStore(env, options.databaseUrl, { maxConnections: 4 });
      const web = await startWeb({ store, config, defaults: clientRequestDefaults(env), log }).catch(async (error: unknown) => {
        await close();
        throw error;
      });
      process.stdout.write(`tessera web: ${web.url}/\n`);
      stopOnSignals(async () => {
        await web.stop();
        await close();
      }, log);
    });
}
