/**
 * GET /metrics on tessera web (prom-client): the queue as the database holds it, read on each
 * scrape — requests by status, and pending requests on their own, the gauge an autoscaler (KEDA,
 * HPA) reads to add masters or workers. One registry per server: nothing global.
 */
import { Gauge, Registry } from 'prom-client';
import type { RequestStore } from '../master/store/request-store.js';

export function webMetrics(store: Pick<RequestStore, 'countByStatus'>): Registry {
  const registry = new Registry();
  new Gauge({
    name: 'tessera_requests',
    help: 'Mosaic requests in the database, by status.',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      for (const [status, n] of Object.entries(await store.countByStatus())) this.set({ status }, n);
    },
  });
  new Gauge({
    name: 'tessera_requests_pending',
    help: 'Mosaic requests waiting for a master (status pending): the queue depth to autoscale on.',
    registers: [registry],
    async collect() {
      this.set((await store.countByStatus()).pending);
    },
  });
  return registry;
}
