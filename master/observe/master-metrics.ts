/**
 * The master's Prometheus metrics, kept from its events (master-events.ts) in a registry of its own
 * (prom-client's global one would be module-level state): tiles handed out, completed, re-issued and
 * rejected, lease expiries, tile durations, bytes each way, connected workers, this master's request
 * outcomes; and, read from the store at each scrape, the requests by status (all masters): the
 * pending count is the queue depth an autoscaler (KEDA, HPA) reads.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { REQUEST_STATUSES } from '../../shared/types.js';
import type { MasterEvents } from '../master-events.js';
import type { RequestStore } from '../store/request-store.js';

export interface MasterMetricsOptions {
  readonly events: MasterEvents;
  readonly store: Pick<RequestStore, 'countByStatus'>;
  readonly masterId: string;
  /** Monotonic milliseconds; injectable for tests. */
  readonly now?: () => number;
}

/** Tile durations (lease to accepted result), seconds: 50 ms to about 7 minutes. */
const TILE_SECONDS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60, 150, 400];

export class MasterMetrics {
  readonly registry = new Registry();
  readonly #unsubscribe: Array<() => void> = [];

  constructor(options: MasterMetricsOptions) {
    const { events, store } = options;
    const now = options.now ?? (() => performance.now());
    const registry = this.registry;
    registry.setDefaultLabels({ master: options.masterId });
    collectDefaultMetrics({ register: registry, prefix: 'tessera_master_' });

    new Gauge({
      name: 'tessera_requests',
      help: 'Requests in the database by status (all masters), read at each scrape.',
      labelNames: ['status'] as const,
      registers: [registry],
      async collect() {
        const counts = await store.countByStatus();
        for (const status of REQUEST_STATUSES) this.set({ status }, counts[status]);
      },
    });
    new Gauge({
      name: 'tessera_requests_pending',
      help: 'Requests waiting for a master (all masters): the queue depth to autoscale on.',
      registers: [registry],
      async collect() {
        this.set((await store.countByStatus()).pending);
      },
    });
    const outcomes = new Counter({ name: 'tessera_master_requests_total', help: 'Requests this master ran to an end, by outcome.', labelNames: ['outcome'] as const, registers: [registry] });
    const claimed = new Counter({ name: 'tessera_master_requests_claimed_total', help: 'Requests this master claimed.', registers: [registry] });
    const leased = new Counter({ name: 'tessera_tiles_leased_total', help: 'Tiles handed out to workers (every attempt).', registers: [registry] });
    const completed = new Counter({ name: 'tessera_tiles_completed_total', help: 'Tiles whose result was accepted.', registers: [registry] });
    const requeued = new Counter({ name: 'tessera_tiles_reissued_total', help: 'Tiles put back in the queue after a failed attempt (lease expired, worker error, worker gone, result rejected).', registers: [registry] });
    const rejected = new Counter({ name: 'tessera_tiles_rejected_total', help: 'Worker results refused as invalid.', registers: [registry] });
    const expired = new Counter({ name: 'tessera_tile_lease_expiries_total', help: 'Leases that ran out before their worker answered.', registers: [registry] });
    const duration = new Histogram({ name: 'tessera_tile_duration_seconds', help: 'From hand-out to accepted result, per tile.', buckets: TILE_SECONDS_BUCKETS, registers: [registry] });
    const sourceBytes = new Counter({ name: 'tessera_source_bytes_total', help: 'Source bytes streamed to workers.', registers: [registry] });
    const resultBytes = new Counter({ name: 'tessera_result_bytes_total', help: 'PNG bytes in accepted worker results.', registers: [registry] });
    const connected = new Gauge({ name: 'tessera_workers_connected', help: 'Workers with an Attend call open to this master.', registers: [registry] });

    /** When each lease (task id and attempt) was handed out. */
    const leasedAt = new Map<string, number>();
    const leaseKey = (taskId: string, attempt: number): string => `${taskId}#${attempt}`;
    const attending = new Map<string, number>();
    const on = this.#unsubscribe.push.bind(this.#unsubscribe);
    on(events.on('request:claimed', () => claimed.inc()));
    for (const [event, outcome] of [
      ['request:completed', 'completed'],
      ['request:failed', 'failed'],
      ['request:cancelled', 'cancelled'],
    ] as const) {
      on(events.on(event, ({ requestId }) => {
        outcomes.inc({ outcome });
        // Task ids are "<request>/<claim>/<tile>": the request's withdrawn tiles are forgotten.
        for (const key of [...leasedAt.keys()]) if (key.startsWith(`${requestId}/`)) leasedAt.delete(key);
      }));
    }
    on(events.on('tile:leased', ({ taskId, attempt }) => {
      leased.inc();
      leasedAt.set(leaseKey(taskId, attempt), now());
    }));
    on(events.on('tile:done', ({ taskId, attempt, resultBytes: bytes }) => {
      completed.inc();
      resultBytes.inc(bytes ?? 0);
      const key = leaseKey(taskId, attempt);
      const at = leasedAt.get(key);
      if (at !== undefined) duration.observe((now() - at) / 1000);
      for (const other of [...leasedAt.keys()]) if (other.startsWith(`${taskId}#`)) leasedAt.delete(other);
    }));
    on(events.on('tile:requeued', ({ taskId, attempt }) => {
      requeued.inc();
      leasedAt.delete(leaseKey(taskId, attempt));
    }));
    on(events.on('tile:rejected', () => rejected.inc()));
    on(events.on('tile:lease-expired', () => expired.inc()));
    on(events.on('tile:streamed', ({ bytes }) => sourceBytes.inc(bytes)));
    on(events.on('worker:attending', ({ workerId }) => {
      attending.set(workerId, (attending.get(workerId) ?? 0) + 1);
      connected.set(attending.size);
    }));
    on(events.on('worker:gone', ({ workerId }) => {
      const calls = (attending.get(workerId) ?? 1) - 1;
      if (calls > 0) attending.set(workerId, calls);
      else attending.delete(workerId);
      connected.set(attending.size);
    }));
  }

  /** The text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  stop(): void {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
  }
}
