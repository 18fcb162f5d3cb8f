/** `tessera master`: claims requests from PostgreSQL and serves tiles to workers until stopped. */
import type { Command } from 'commander';
import { loadMasterConfig } from '../../shared/config/master-config.js';
import { createLogger } from '../../shared/logger.js';
import { loadDataLakeSettings } from '../../master/output/datalake-config.js';
import { startMaster } from '../../master/start-master.js';
import { stopOnSignals } from '../shutdown.js';

export function masterCommand(program: Command): void {
  program
    .command('master')
    .description('run the master: claim mosaic requests, hand tiles to workers, merge and record results')
    .option('--listen <host:port>', 'gRPC address for workers (GRPC_LISTEN)')
    .option('--output-dir <dir>', 'where mosaics are written (OUTPUT_DIR)')
    .action(async (options: { listen?: string; outputDir?: string }) => {
      const config = loadMasterConfig(process.env, {
        ...(options.listen ? { grpcListen: options.listen } : {}),
        ...(options.outputDir ? { outputDir: options.outputDir } : {}),
      });
      const log = createLogger('tessera-master', config.logLevel);
      const master = await startMaster(config, log, { dataLake: loadDataLakeSettings(process.env) });
      if (master.embedded) {
        process.stderr.write(`tessera master: embedded PostgreSQL at ${master.databaseUrl} (psql and tessera submit connect there)\n`);
      }
      stopOnSignals((graceful) => master.stop({ graceful }), log);
    });
}
