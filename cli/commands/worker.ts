/** `tessera worker`: long-polls a master for tiles and computes them until stopped. */
import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { loadWorkerConfig } from '../../shared/config/worker-config.js';
import { createLogger } from '../../shared/logger.js';
import { stopOnSignals } from '../shutdown.js';

/** Touches `path` at most every few seconds (a health check reads its age). */
function aliveFileToucher(path: string): () => void {
  let last = 0;
  return () => {
    const now = Date.now();
    if (now - last < 5_000) return;
    last = now;
    writeFile(path, `${new Date(now).toISOString()}\n`).catch(() => undefined);
  };
}

export function workerCommand(program: Command): void {
  program
    .command('worker')
    .description('run a worker: long-poll the master for tiles, compute NDVI/NDSI, send PNG tiles back')
    .option('--master <host:port>', 'the master\'s gRPC address (MASTER_ADDRESS)')
    .option('--concurrency <n>', 'tiles computed at once (WORKER_CONCURRENCY)')
    .action(async (options: { master?: string; concurrency?: string }) => {
      const config = loadWorkerConfig({
        ...process.env,
        ...(options.master ? { MASTER_ADDRESS: options.master } : {}),
        ...(options.concurrency ? { WORKER_CONCURRENCY: options.concurrency } : {}),
      });
      // Loaded here, not at the top: every tessera command reads this file, only a worker needs gRPC
      // and the tile kernels (sharp, the GeoTIFF decoders), and `tessera run` starts its workers sooner.
      const [{ createTileServiceClient }, { loadChannelCredentials }, { TileWorker }, { DirectFiles }, { ResultFiles }, { createTileCodecs }] = await Promise.all([
        import('../../shared/proto/tile-service.js'),
        import('../../shared/proto/client-credentials.js'),
        import('../../worker/tile-worker.js'),
        import('../../worker/direct-sources.js'),
        import('../../worker/result-files.js'),
        import('../../worker/tile-codecs.js'),
      ]);
      const log = createLogger('tessera-worker', config.logLevel).child({ workerId: config.workerId });
      // libdeflate (koffi, a native addon) takes ~11 ms to load: while the credentials are read.
      const [credentials, codecs] = await Promise.all([loadChannelCredentials(config), createTileCodecs(config.inflateLibrary, log)]);
      log.info(
        { master: config.masterAddress, inflate: codecs.inflater.name, tls: config.masterTlsCa ? (config.workerTlsCert ? 'mutual' : 'on') : 'off', workerToken: config.workerToken ? 'set' : 'none' },
        'connecting to the master',
      );
      const worker = new TileWorker({
        client: createTileServiceClient(config.masterAddress, config.maxMessageBytes, { credentials, token: config.workerToken }),
        workerId: config.workerId,
        concurrency: config.concurrency,
        pollDeadlineMs: config.pollDeadlineMs,
        log,
        heartbeat: config.aliveFile ? aliveFileToucher(config.aliveFile) : undefined,
        codecs,
        ...(config.directReads ? { directFiles: new DirectFiles() } : {}),
        ...(config.directWrites ? { resultFiles: new ResultFiles() } : {}),
      });
      worker.start();
      stopOnSignals(async (graceful) => {
        await worker.stop({ graceful });
        codecs.close();
      }, log);
    });
}
