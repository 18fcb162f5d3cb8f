/**
 * A small static file server on 127.0.0.1 for tests of http(s) band sources: GET and HEAD with
 * single-range `Range` support (206 + Content-Range, 416 when unsatisfiable, Accept-Ranges),
 * 404 for unknown paths, and counters of what it was asked for and how many bytes it sent.
 * Query strings are ignored when looking a file up (as with signed URLs), but recorded.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ServedRequest {
  readonly method: string;
  /** Path and query as requested. */
  readonly url: string;
  readonly range: string | undefined;
  readonly status: number;
  /** Body bytes sent. */
  readonly bytes: number;
}

export interface RangeServerStats {
  readonly requests: ServedRequest[];
  /** Body bytes sent per path (without query), over all requests. */
  bytesByPath(path: string): number;
  /** GETs of a path answered with the whole file (status 200). */
  fullGets(path: string): number;
  /** GETs of a path answered with 206. */
  rangeGets(path: string): number;
}

export interface RangeServer {
  readonly port: number;
  /** http://127.0.0.1:<port>/<name> */
  url(name: string): string;
  readonly stats: RangeServerStats;
  close(): Promise<void>;
}

/** Serves `files` (name → contents) at /<name>. */
export async function startRangeServer(files: ReadonlyMap<string, Uint8Array>): Promise<RangeServer> {
  const requests: ServedRequest[] = [];
  const pathOf = (url: string): string => url.split('?')[0] ?? url;

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const method = req.method ?? 'GET';
    const range = req.headers.range;
    const record = (status: number, bytes: number): void => {
      requests.push({ method, url, range, status, bytes });
    };
    const name = decodeURIComponent(pathOf(url)).replace(/^\/+/, '');
    const body = files.get(name);

    if (method !== 'GET' && method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return record(405, 0);
    }
    if (!body) {
      const text = 'not found\n';
      res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text) });
      res.end(method === 'HEAD' ? undefined : text);
      return record(404, method === 'HEAD' ? 0 : Buffer.byteLength(text));
    }

    const size = body.length;
    const common = { 'Accept-Ranges': 'bytes', 'Content-Type': 'image/tiff', 'Last-Modified': new Date(0).toUTCString() };
    if (range === undefined) {
      res.writeHead(200, { ...common, 'Content-Length': size });
      if (method === 'HEAD') {
        res.end();
        return record(200, 0);
      }
      res.end(body);
      return record(200, size);
    }

    const parsed = parseRange(range, size);
    if (!parsed) {
      res.writeHead(416, { ...common, 'Content-Range': `bytes */${size}`, 'Content-Length': 0 }).end();
      return record(416, 0);
    }
    const { start, end } = parsed;
    res.writeHead(206, { ...common, 'Content-Range': `bytes ${start}-${end}/${size}`, 'Content-Length': end - start + 1 });
    if (method === 'HEAD') {
      res.end();
      return record(206, 0);
    }
    res.end(body.subarray(start, end + 1));
    return record(206, end - start + 1);
  });
  server.keepAliveTimeout = 1_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const stats: RangeServerStats = {
    requests,
    bytesByPath: (path) => requests.filter((r) => pathOf(r.url) === path).reduce((sum, r) => sum + r.bytes, 0),
    fullGets: (path) => requests.filter((r) => pathOf(r.url) === path && r.method === 'GET' && r.status === 200).length,
    rangeGets: (path) => requests.filter((r) => pathOf(r.url) === path && r.method === 'GET' && r.status === 206).length,
  };

  return {
    port,
    url: (name) => `http://127.0.0.1:${port}/${name}`,
    stats,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/**
 * One `bytes=` range (first-last, first-, or -suffix), clamped to the file; null when it cannot be
 * satisfied. Multi-range requests are answered with their first range (allowed by RFC 9110).
 */
function parseRange(header: string, size: number): { start: number; end: number } | null {
  const match = /^bytes=\s*(\d*)-(\d*)\s*(?:,.*)?$/.exec(header);
  if (!match || size === 0) return null;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return null;
  let start: number;
  let end: number;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return null;
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(first);
    end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  }
  if (start >= size || end < start) return null;
  return { start, end };
}
