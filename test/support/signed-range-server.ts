/**
 * A signed-URL front for range-server.ts on 127.0.0.1, for tests of remote mosaics: a request
 * without the right `?sig=` is refused with 403 (as an expired or forged signature is), a right
 * one is passed to the range server. Failures can be injected for the next requests (an HTTP
 * status such as 503, or a dropped connection) to test retries.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startRangeServer, type RangeServer } from './range-server.js';

/** What to do with one request instead of serving it: answer a status, or drop the connection. */
export type InjectedFailure = number | 'reset';

export interface SignedRangeServer {
  readonly port: number;
  /** http://127.0.0.1:<port>/<name>?sig=<signature> (another signature, or none with null). */
  url(name: string, signature?: string | null): string;
  /** The server behind the front: what was served, byte for byte. */
  readonly backend: RangeServer;
  /** Every request the front saw: path with query, and the status it answered (0 = dropped). */
  readonly seen: ReadonlyArray<{ readonly url: string; readonly status: number }>;
  /** The next requests with a valid signature fail like this, in order. */
  injectFailures(...failures: InjectedFailure[]): void;
  close(): Promise<void>;
}

export async function startSignedRangeServer(files: ReadonlyMap<string, Uint8Array>, signature: string): Promise<SignedRangeServer> {
  const backend = await startRangeServer(files);
  const pending: InjectedFailure[] = [];
  const seen: Array<{ url: string; status: number }> = [];

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const sig = new URL(url, 'http://127.0.0.1').searchParams.get('sig');
    if (sig !== signature) {
      const text = 'AuthenticationFailed: signature not valid or expired\n';
      res.writeHead(403, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text) }).end(text);
      seen.push({ url, status: 403 });
      return;
    }
    const failure = pending.shift();
    if (failure === 'reset') {
      seen.push({ url, status: 0 });
      req.socket.destroy();
      return;
    }
    if (failure !== undefined) {
      res.writeHead(failure, { 'Content-Length': 0 }).end();
      seen.push({ url, status: failure });
      return;
    }
    const headers: Record<string, string> = {};
    if (req.headers.range) headers['range'] = req.headers.range;
    const upstream = request({ host: '127.0.0.1', port: backend.port, path: url, method: req.method, headers }, (answer) => {
      seen.push({ url, status: answer.statusCode ?? 0 });
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    upstream.end();
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    port,
    url: (name, sig = signature) => `http://127.0.0.1:${port}/${name}${sig === null ? '' : `?sig=${encodeURIComponent(sig)}&se=2030-01-01T00%3A00%3A00Z`}`,
    backend,
    seen,
    injectFailures: (...failures) => {
      pending.push(...failures);
    },
    close: async () => {
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      await backend.close();
    },
  };
}
