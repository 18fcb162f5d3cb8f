/** Starts tessera web on a RequestStore: builds the server and listens on WEB_LISTEN; resolves to its address and a stop. */
import type { Logger } from 'pino';
import type { RequestStore } from '../master/store/request-store.js';
import { hostOf } from '../shared/config/loopback.js';
import type { WebConfig } from '../shared/config/web-config.js';
import type { ClientRequestDefaults } from '../shared/request/check-request.js';
import { buildWebServer } from './web-server.js';

export interface RunningWeb {
  /** http://host:port, with the port actually bound (WEB_LISTEN may ask for port 0). */
  readonly url: string;
  stop(): Promise<void>;
}

export async function startWeb(
  deps: { store: RequestStore; config: WebConfig; defaults: ClientRequestDefaults; log: Logger; feedIntervalMs?: number },
): Promise<RunningWeb> {
  const app = await buildWebServer(deps);
  const host = hostOf(deps.config.webListen);
  const port = Number(deps.config.webListen.slice(deps.config.webListen.lastIndexOf(':') + 1));
  await app.listen({ host, port });
  const address = app.server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${shownHost}:${bound}`, stop: () => app.close() };
}
