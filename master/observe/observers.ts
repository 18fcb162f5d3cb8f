/**
 * What watches a master's events: the worker statistics written to the store (always) and the
 * Prometheus metrics served on METRICS_LISTEN (when set). Started and stopped together.
 */
import type { MasterConfig } from '../../shared/config/master-config.js';
import type { Logger } from '../../shared/logger.js';
import type { MasterEvents } from '../master-events.js';
import type { RequestStore } from '../store/request-store.js';
import { WorkerStatsRecorder } from './worker-stats-recorder.js';

export interface Observers {
  readonly metricsPort: number | undefined;
  /** Stops serving metrics and writes the worker statistics one last time. */
  stop(): Promise<void>;
}

export async function startObservers(
  config: Pick<MasterConfig, 'masterId' | 'workerStatsMs' | 'metricsListen'>,
  { events, store, log }: { events: MasterEvents; store: RequestStore; log: Logger },
): Promise<Observers> {
  // prom-client and the metrics server load only when metrics are wanted (start-up is master CPU too).
  const modules = config.metricsListen ? await Promise.all([import('./master-metrics.js'), import('./metrics-server.js')]) : undefined;
  const metrics = modules ? new modules[0].MasterMetrics({ events, store, masterId: config.masterId }) : undefined;
  const server = metrics && modules && config.metricsListen
    ? await modules[1].startMetricsServer({ listen: config.metricsListen, metrics, log: log.child({ scope: 'metrics' }) }).catch((error: unknown) => {
        metrics.stop();
        throw error;
      })
    : undefined;
  const recorder = new WorkerStatsRecorder({ events, store, masterId: config.masterId, everyMs: config.workerStatsMs, log: log.child({ scope: 'worker-stats' }) });
  recorder.start();
  return {
    metricsPort: server?.port,
    async stop() {
      await server?.stop();
      metrics?.stop();
      await recorder.stop();
    },
  };
}
