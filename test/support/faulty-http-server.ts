/**
 * A misbehaving front for range-server.ts on 127.0.0.1, for tests of what the master does with bad
 * remote sources. Each path may be given a fault: `stall` sends the 206 headers of a range request
 * (from byte `from` on) and then nothing, holding the connection open; `lie` declares a
 * Content-Length larger than the body it sends, then closes; `status` answers that HTTP status;
 * `html` answers every request with an HTML page (as a login or error page would). Other paths are
 * served by the range server. Every request is recorded with the fault it met.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startRangeServer, type RangeServer } from './range-server.js';

export type Fault =
  | { readonly kind: 'stall'; readonly from?: number }
  | { readonly kind: 'lie' }
  | { readonly kind: 'status'; readonly status: number }
  | { readonly kind: 'html'; readonly status: 200 | 206 };

export interface FaultyRequest {
  readonly path: string;
  readonly range: string | undefined;
  /** The fault applied, or 'served'. */
  readonly outcome: Fault['kind'] | 'served';
  readonly atMs: number;
}

export interface FaultyHttpServer {
  /** http://127.0.0.1:<port>/<name>, with `query` appended when given (e.g. "sig=secret"). */
  url(name: string, query?: string): string;
  readonly requests: readonly FaultyRequest[];
  close(): Promise<void>;
}

const HTML = '<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><form>Sign in to continue</form></body></html>\n';

/** The first byte a `bytes=a-b` range asks for (0 without a range or for a suffix range). */
function rangeStart(range: string | undefined): number {
  const match = /^bytes=(\d+)-/.exec(range ?? '');
  return match ? Number(match[1]) : 0;
}

export async function startFaultyHttpServer(
  files: ReadonlyMap<string, Uint8Array>,
  faults: Readonly<Record<string, Fault>>,
): Promise<FaultyHttpServer> {
  const backend: RangeServer = await startRangeServer(files);
  const requests: FaultyRequest[] = [];

  const forward = (req: IncomingMessage, res: ServerResponse, sendBody: boolean): void => {
    const headers: Record<string, string> = {};
    if (req.headers.range) headers['range'] = req.headers.range;
    const upstream = request({ host: '127.0.0.1', port: backend.port, path: req.url, method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      if (sendBody) answer.pipe(res);
      else {
        res.flushHeaders(); // the headers go out; the body never comes
        answer.resume();
      }
    });
    upstream.on('error', () => res.destroy());
    upstream.end();
  };

  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    const path = decodeURIComponent(url.split('?')[0] ?? url).replace(/^\/+/, '');
    const range = req.headers.range;
    const fault = faults[path];
    const applies = fault !== undefined && (fault.kind !== 'stall' || rangeStart(range) >= (fault.from ?? 0));
    requests.push({ path, range, outcome: applies ? fault.kind : 'served', atMs: performance.now() });
    if (!applies) return forward(req, res, true);
    switch (fault.kind) {
      case 'stall':
        return forward(req, res, false);
      case 'lie':
        // Claims 64 KiB, sends 10 bytes, hangs up.
        res.writeHead(206, { 'Content-Type': 'image/tiff', 'Content-Range': 'bytes 0-65535/1000000', 'Content-Length': 65_536 });
        res.write(Buffer.from('II*\u0000\u0008\u0000\u0000\u0000\u0000\u0000', 'latin1'));
        res.flushHeaders();
        setImmediate(() => res.socket?.destroy());
        return;
      case 'status': {
        const text = `error ${fault.status}\n`;
        res.writeHead(fault.status, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text) }).end(text);
        return;
      }
      case 'html': {
        const headers: Record<string, string | number> = { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(HTML) };
        if (fault.status === 206) headers['Content-Range'] = `bytes 0-${Buffer.byteLength(HTML) - 1}/${Buffer.byteLength(HTML)}`;
        res.writeHead(fault.status, headers).end(HTML);
        return;
      }
    }
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: (name, query) => `http://127.0.0.1:${port}/${name}${query ? `?${query}` : ''}`,
    requests,
    close: async () => {
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      await backend.close();
    },
  };
}
