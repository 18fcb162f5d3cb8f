/** `tessera master`: claims requests from PostgreSQL and serves tiles to workers until stopped. */
import type { Command } from 'commander';
import { loadMasterConfig } from '../../shared/config/master-config.js';
import { createLogger } from '../../shared/logger.js';
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
      // Loaded here, not at the top: the worker image leaves out what only the master needs.
      const { loadDataLakeSettings } = await import('../../master/output/datalake-config.js');
      const dataLake = loadDataLakeSettings(process.env);
      const log = createLogger('tessera-master', config.logLevel);
      const { startMaster } = await import('../../master/start-master.js');
      const master = await startMaster(config, log, { dataLake });
      if (master.embedded) {
        process.stderr.write(`tessera master: embedded PostgreSQL at ${master.databaseUrl} (psql and tessera submit connect there)\n`);
      }
      stopOnSignals((graceful) => master.stop({ graceful }), log);
    });
}
