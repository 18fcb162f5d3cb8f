/**
 * Serves the master's Prometheus metrics over plain HTTP at GET /metrics on METRICS_LISTEN (off
 * unless set). No authentication: bind it to loopback or a network only Prometheus reaches.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';

export interface MetricsSource {
  /** The text exposition. */
  text(): Promise<string>;
  readonly registry: { readonly contentType: string };
}

export interface MetricsServer {
  readonly port: number;
  stop(): Promise<void>;
}

export async function startMetricsServer(options: { listen: string; metrics: MetricsSource; log: Logger }): Promise<MetricsServer> {
  const { listen, metrics, log } = options;
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: the metrics are at GET /metrics\n');
      return;
    }
    metrics.text().then(
      (text) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(request.method === 'HEAD' ? undefined : text),
      (error: unknown) => {
        log.warn({ error: describeError(error) }, 'could not collect the metrics');
        response.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end(`metrics unavailable: ${describeError(error)}\n`);
      },
    );
  });
  const at = listen.lastIndexOf(':');
  const host = listen.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  const port = Number(listen.slice(at + 1));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  log.info({ listen: `${host}:${bound}` }, 'metrics served at /metrics');
  return {
    port: bound,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
