/**
 * What the pages watch: GET /api/events (server-sent events: a `request` event with the row each
 * time one changes, from the shared RequestFeed) and GET /api/workers (the worker_stats rows of the
 * workers seen recently, by any master).
 */
import type { FastifyInstance } from 'fastify';
import type { RequestStore } from '../../master/store/request-store.js';
import { InvalidRequestError } from '../../shared/errors.js';
import type { RequestFeed } from '../request-feed.js';
import { requestJson, workerJson } from './request-json.js';

export interface LiveRoutesOptions {
  readonly store: RequestStore;
  readonly feed: RequestFeed;
  /** Default of ?seen_within_s= (WEB_WORKERS_SEEN_S). */
  readonly workersSeenS: number;
  /** A comment line this often keeps proxies from closing a quiet stream. */
  readonly keepAliveMs: number;
}

export function registerLiveRoutes(app: FastifyInstance, options: LiveRoutesOptions): void {
  const { store, feed } = options;

  app.get('/api/events', (request, reply) => {
    reply.hijack();
    const out = reply.raw;
    out.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    out.write('retry: 2000\n\n');
    const unsubscribe = feed.subscribe((row) => out.write(`event: request\ndata: ${JSON.stringify(requestJson(row))}\n\n`));
    const keepAlive = setInterval(() => out.write(': keep-alive\n\n'), options.keepAliveMs);
    request.raw.once('close', () => {
      clearInterval(keepAlive);
      unsubscribe();
    });
  });

  app.get<{ Querystring: { seen_within_s?: string } }>('/api/workers', async (request) => {
    const given = request.query.seen_within_s;
    const seconds = given === undefined || given === '' ? options.workersSeenS : Number(given);
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > 86_400) {
      throw new InvalidRequestError(`seen_within_s must be a whole number of seconds from 1 to 86400, not "${given}"`);
    }
    const workers = await store.listWorkers(seconds * 1000);
    return { seen_within_s: seconds, workers: workers.map(workerJson) };
  });
}
