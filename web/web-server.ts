/**
 * tessera web's HTTP server (fastify): the pages (web/public) and the assets they use, served from
 * the package's own node_modules (Leaflet, Geoman: no CDN), the HTTP API under /api, and /metrics.
 * Everything it shows comes from the database through the RequestStore, so it sees every master.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { RequestStore } from '../master/store/request-store.js';
import type { WebConfig } from '../shared/config/web-config.js';
import { InvalidRequestError, describeError } from '../shared/errors.js';
import { packageRoot } from '../shared/package-root.js';
import type { ClientRequestDefaults } from '../shared/request/check-request.js';
import { bearerCheck } from './api/bearer-auth.js';
import { registerLiveRoutes } from './api/live-routes.js';
import { registerFileRoute } from './api/request-files.js';
import { registerRequestRoutes } from './api/request-routes.js';
import { allLegends } from './ramp-legend.js';
import { RequestFeed } from './request-feed.js';
import { webMetrics } from './web-metrics.js';

export interface WebServerDeps {
  readonly store: RequestStore;
  readonly config: Pick<WebConfig, 'webToken' | 'webBasemapUrl' | 'webWorkersSeenS'>;
  readonly defaults: ClientRequestDefaults;
  readonly log: Logger;
  /** How often the live feed reads the table (default 1000 ms). */
  readonly feedIntervalMs?: number;
}

/** The folder of a package's main file (Leaflet's and Geoman's dist/), found the way Node resolves it. */
function mainFolder(name: string): string {
  return dirname(createRequire(import.meta.url).resolve(name));
}

/** Readable errors: a bad request or query is a 400 with its message, malformed JSON says so, the rest is logged. */
function answerErrors(app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error instanceof InvalidRequestError) return reply.code(400).send({ error: error.message });
    if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError) {
      return reply.code(400).send({ error: `the body is not valid JSON (${error.message})` });
    }
    if (error.statusCode !== undefined && error.statusCode < 500) return reply.code(error.statusCode).send({ error: error.message });
    log.error({ err: describeError(error) }, 'web request failed');
    return reply.code(500).send({ error: `internal error: ${describeError(error)}` });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `nothing at ${request.method} ${request.url}` }));
}

export async function buildWebServer(deps: WebServerDeps): Promise<FastifyInstance> {
  const { store, config, log } = deps;
  const app = Fastify({ bodyLimit: 1024 * 1024, forceCloseConnections: true }) // no logger: only failures are logged (answerErrors);
  answerErrors(app, log);
  const feed = new RequestFeed({
    store,
    intervalMs: deps.feedIntervalMs ?? 1000,
    newest: 100,
    onError: (error) => log.warn({ err: describeError(error) }, 'reading requests for the live feed failed; trying again'),
  });
  app.addHook('onClose', async () => feed.close());

  await app.register(fastifyStatic, { root: join(packageRoot(), 'web', 'public'), prefix: '/', index: 'index.html' });
  await app.register(fastifyStatic, { root: mainFolder('leaflet'), prefix: '/vendor/leaflet/', decorateReply: false });
  await app.register(fastifyStatic, {
    root: mainFolder('@geoman-io/leaflet-geoman-free'),
    prefix: '/vendor/geoman/',
    decorateReply: false,
  });

  registerRequestRoutes(app, { store, defaults: deps.defaults, authorize: bearerCheck(config.webToken) });
  registerFileRoute(app, store);
  registerLiveRoutes(app, { store, feed, workersSeenS: config.webWorkersSeenS, keepAliveMs: 15_000 });
  app.get('/api/config', async () => ({
    basemap_url: config.webBasemapUrl,
    token_required: config.webToken !== undefined,
    legends: allLegends(),
  }));
  const metrics = webMetrics(store);
  app.get('/metrics', async (_request, reply) => reply.header('content-type', metrics.contentType).send(await metrics.metrics()));
  return app;
}
