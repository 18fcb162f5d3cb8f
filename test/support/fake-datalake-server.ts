/**
 * A STAND-IN FOR AZURE DATA LAKE STORAGE GEN2, for tests only (Azurite has no Data Lake / dfs
 * endpoint). A small node:http server on 127.0.0.1 that answers the REST calls the real
 * @azure/storage-file-datalake SDK makes to create a filesystem and upload, inspect and read files:
 *
 *   PUT   /{account}/{fs}?restype=container              create filesystem (blob API; 409 ContainerAlreadyExists)
 *   PUT   /{account}/{fs}?resource=filesystem            create filesystem (dfs API)
 *   PUT   /{account}/{fs}/{path}?resource=file           create (or overwrite) a file
 *   PATCH /{account}/{fs}/{path}?action=append&position=N  stage bytes at N
 *   PATCH /{account}/{fs}/{path}?action=flush&position=N   commit the staged bytes (must be contiguous up to N)
 *   HEAD  /{account}/{fs}/{path}                         properties
 *   GET   /{account}/{fs}/{path}                         read (Range / x-ms-range supported)
 *
 * URLs are path-style (`http://127.0.0.1:<port>/<account>/…`), as the SDK uses for IP endpoints.
 * Every request must be authenticated: a `SharedKey` Authorization header whose HMAC-SHA256 it
 * recomputes with the account key (the same string-to-sign as the SDK), or a SAS query whose `sig`
 * equals the one the test configured; otherwise 403 AuthenticationFailed. Bytes live in memory.
 * Each request is recorded (method, path, query, operation, Authorization, whether auth was valid,
 * status). `failNext` / `setDown` simulate storage being down (503 ServerBusy, a reset connection,
 * or no answer at all).
 */
import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface FakeDataLakeOptions {
  readonly accountName: string;
  /** base64 */
  readonly accountKey: string;
  /** The `sig` a SAS-authenticated request must carry (SAS is refused when unset). */
  readonly sasSignature?: string;
}

export type Operation =
  | 'filesystem-create'
  | 'filesystem-properties'
  | 'path-create'
  | 'append'
  | 'flush'
  | 'get-properties'
  | 'read'
  | 'unsupported';

export interface RecordedCall {
  readonly method: string;
  /** Path as sent (still URL-encoded), without the query. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly operation: Operation;
  readonly authorization: string | undefined;
  /** 'shared-key' (Authorization header), 'sas' (sig in the query) or 'none'. */
  readonly auth: 'shared-key' | 'sas' | 'none';
  /** The SharedKey signature matched / the SAS sig was the expected one. */
  readonly authValid: boolean;
  readonly status: number | 'reset' | 'hang';
  /** Request body bytes received. */
  readonly bodyBytes: number;
}

/** How an unavailable storage answers. */
export type Outage = 503 | 500 | 'reset' | 'hang';

export interface FailureOptions {
  readonly outage?: Outage;
  /** Only requests this returns true for count and fail (default: every request). */
  readonly match?: (call: { method: string; operation: Operation; query: Readonly<Record<string, string>> }) => boolean;
}

export interface FakeDataLakeServer {
  readonly port: number;
  readonly accountName: string;
  /** Service URL, path-style: http://127.0.0.1:<port>/<account> */
  readonly serviceUrl: string;
  /** An account-key connection string pointing at this server. */
  readonly connectionString: string;
  readonly calls: readonly RecordedCall[];
  /** Committed bytes of a file (path without leading slash, decoded), or undefined. */
  file(fileSystem: string, path: string): Buffer | undefined;
  fileSystems(): string[];
  /** Answer the next `count` matching requests with an outage (default 503), then behave again. */
  failNext(count: number, options?: FailureOptions): void;
  /** Every request gets this outage until `setDown(undefined)`. */
  setDown(outage: Outage | undefined): void;
  close(): Promise<void>;
}

interface StoredFile {
  data: Buffer;
  pending: { position: number; data: Buffer }[];
  contentType: string;
  etag: string;
  lastModified: Date;
}

interface FileSystem {
  readonly files: Map<string, StoredFile>;
  etag: string;
  readonly created: Date;
}

const SERVICE_VERSION_FALLBACK = '2025-11-05';

export async function startFakeDataLake(options: FakeDataLakeOptions): Promise<FakeDataLakeServer> {
  const key = Buffer.from(options.accountKey, 'base64');
  const fileSystems = new Map<string, FileSystem>();
  const calls: RecordedCall[] = [];
  const sockets = new Set<Socket>();
  const failures: { remaining: number; outage: Outage; match: FailureOptions['match'] }[] = [];
  const state: { down: Outage | undefined } = { down: undefined };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.keepAliveTimeout = 1_000;

  function handle(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    const queryAt = rawUrl.indexOf('?');
    const path = queryAt < 0 ? rawUrl : rawUrl.slice(0, queryAt);
    const query = parseQuery(queryAt < 0 ? '' : rawUrl.slice(queryAt + 1));
    const operation = classify(method, path, query);
    const authorization = req.headers.authorization;
    const auth = authorization?.startsWith('SharedKey ') ? 'shared-key' : query.sig !== undefined ? 'sas' : 'none';
    const authValid =
      auth === 'shared-key'
        ? authorization === expectedAuthorization(req.headers, method, path, rawUrl)
        : auth === 'sas'
          ? options.sasSignature !== undefined && query.sig === options.sasSignature
          : false;
    const record = (status: RecordedCall['status']): void => {
      calls.push({ method, path, query, operation, authorization, auth, authValid, status, bodyBytes: body.length });
    };

    const failure = failures.find((f) => f.remaining > 0 && (f.match?.({ method, operation, query }) ?? true));
    const outage = state.down ?? (failure ? failure.outage : undefined);
    if (failure && state.down === undefined) failure.remaining -= 1;
    if (outage !== undefined) {
      record(outage);
      if (outage === 'reset') req.socket.destroy();
      else if (outage !== 'hang') sendError(res, req, outage, outage === 503 ? 'ServerBusy' : 'InternalError', 'The server is busy (simulated outage).');
      return;
    }
    if (!authValid) {
      record(403);
      sendError(res, req, 403, 'AuthenticationFailed', 'Server failed to authenticate the request (fake Data Lake).');
      return;
    }

    const segments = path.split('/').slice(1).map((s) => decodeURIComponent(s));
    const [account, fsName, ...rest] = segments;
    if (account !== options.accountName || !fsName) {
      record(400);
      sendError(res, req, 400, 'InvalidUri', `expected /${options.accountName}/<filesystem>/<path>, got ${path}`);
      return;
    }
    const filePath = rest.join('/');
    const status = dispatch(req, res, operation, fsName, filePath, query, body);
    record(status);
  }

  /** Performs one operation; returns the status sent. */
  function dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    operation: Operation,
    fsName: string,
    filePath: string,
    query: Readonly<Record<string, string>>,
    body: Buffer,
  ): number {
    const fileSystem = fileSystems.get(fsName);
    switch (operation) {
      case 'filesystem-create': {
        if (fileSystem) return sendError(res, req, 409, 'ContainerAlreadyExists', 'The specified container already exists.');
        const created: FileSystem = { files: new Map(), etag: newEtag(), created: new Date() };
        fileSystems.set(fsName, created);
        return send(res, req, 201, { ETag: created.etag, 'Last-Modified': created.created.toUTCString() });
      }
      case 'filesystem-properties': {
        if (!fileSystem) return sendError(res, req, 404, 'ContainerNotFound', 'The specified container does not exist.');
        return send(res, req, 200, { ETag: fileSystem.etag, 'Last-Modified': fileSystem.created.toUTCString() });
      }
      case 'path-create': {
        if (!fileSystem) return sendError(res, req, 404, 'FilesystemNotFound', 'The specified filesystem does not exist.');
        if (filePath === '') return sendError(res, req, 400, 'InvalidUri', 'no path');
        const file: StoredFile = {
          data: Buffer.alloc(0),
          pending: [],
          contentType: headerText(req.headers['x-ms-content-type']) ?? 'application/octet-stream',
          etag: newEtag(),
          lastModified: new Date(),
        };
        fileSystem.files.set(filePath, file);
        return send(res, req, 201, { ETag: file.etag, 'Last-Modified': file.lastModified.toUTCString(), 'x-ms-request-server-encrypted': 'true' });
      }
      case 'append': {
        const file = fileSystem?.files.get(filePath);
        if (!file) return sendError(res, req, 404, 'PathNotFound', 'The specified path does not exist.');
        const position = Number(query.position);
        const declared = Number(req.headers['content-length'] ?? body.length);
        if (!Number.isInteger(position) || position < 0) return sendError(res, req, 400, 'InvalidQueryParameterValue', 'bad position');
        if (declared !== body.length) return sendError(res, req, 400, 'InvalidInput', 'Content-Length does not match the body');
        file.pending.push({ position, data: body });
        return send(res, req, 202, { 'x-ms-request-server-encrypted': 'true' });
      }
      case 'flush': {
        const file = fileSystem?.files.get(filePath);
        if (!file) return sendError(res, req, 404, 'PathNotFound', 'The specified path does not exist.');
        const position = Number(query.position);
        const staged = [...file.pending].sort((a, b) => a.position - b.position);
        let end = file.data.length;
        for (const part of staged) {
          if (part.position !== end) return sendError(res, req, 400, 'InvalidFlushPosition', `staged data is not contiguous at ${end}`);
          end += part.data.length;
        }
        if (end !== position) return sendError(res, req, 400, 'InvalidFlushPosition', `flush position ${position} != staged end ${end}`);
        file.data = Buffer.concat([file.data, ...staged.map((part) => part.data)]);
        file.pending = [];
        file.contentType = headerText(req.headers['x-ms-content-type']) ?? file.contentType;
        file.etag = newEtag();
        file.lastModified = new Date();
        return send(res, req, 200, { ETag: file.etag, 'Last-Modified': file.lastModified.toUTCString(), 'x-ms-request-server-encrypted': 'true' });
      }
      case 'get-properties':
      case 'read': {
        const file = fileSystem?.files.get(filePath);
        if (!file) return sendError(res, req, 404, 'BlobNotFound', 'The specified blob does not exist.');
        const properties = {
          ETag: file.etag,
          'Last-Modified': file.lastModified.toUTCString(),
          'Content-Type': file.contentType,
          'Accept-Ranges': 'bytes',
          'x-ms-blob-type': 'BlockBlob',
          'x-ms-resource-type': 'file',
          'x-ms-creation-time': file.lastModified.toUTCString(),
          'x-ms-lease-state': 'available',
          'x-ms-lease-status': 'unlocked',
          'x-ms-server-encrypted': 'true',
        };
        if (operation === 'get-properties') return send(res, req, 200, { ...properties, 'Content-Length': file.data.length }, undefined);
        const range = parseRange(headerText(req.headers['x-ms-range']) ?? headerText(req.headers.range), file.data.length);
        if (range === 'invalid') return sendError(res, req, 416, 'InvalidRange', 'The range specified is invalid for the current size of the resource.');
        if (range === undefined) return send(res, req, 200, properties, file.data);
        return send(
          res,
          req,
          206,
          { ...properties, 'Content-Range': `bytes ${range.start}-${range.end}/${file.data.length}` },
          file.data.subarray(range.start, range.end + 1),
        );
      }
      case 'unsupported':
        return sendError(res, req, 400, 'UnsupportedOperation', `the fake Data Lake does not implement ${req.method} ${req.url}`);
    }
  }

  /** `SharedKey <account>:<signature>` as the SDK computes it (storageSharedKeyCredentialPolicy). */
  function expectedAuthorization(headers: IncomingHttpHeaders, method: string, path: string, rawUrl: string): string {
    const header = (name: string): string => {
      const value = headerText(headers[name]) ?? '';
      return name === 'content-length' && value === '0' ? '' : value;
    };
    const standard = [
      'content-language',
      'content-encoding',
      'content-length',
      'content-md5',
      'content-type',
      'date',
      'if-modified-since',
      'if-match',
      'if-none-match',
      'if-unmodified-since',
      'range',
    ].map(header);
    const msHeaders = Object.keys(headers)
      .filter((name) => name.startsWith('x-ms-'))
      .sort(compareHeaderNames)
      .map((name) => `${name}:${(headerText(headers[name]) ?? '').trimStart()}\n`)
      .join('');
    const sdkQueries = parseQuery(rawUrl.includes('?') ? rawUrl.slice(rawUrl.indexOf('?') + 1) : '', true);
    const resource =
      `/${options.accountName}${path || '/'}` +
      Object.keys(sdkQueries)
        .map((k) => k.toLowerCase())
        .sort()
        .map((k) => `\n${k}:${sdkQueries[k] ?? ''}`)
        .join('');
    const stringToSign = `${[method.toUpperCase(), ...standard].join('\n')}\n${msHeaders}${resource}`;
    const signature = createHmac('sha256', key).update(stringToSign, 'utf8').digest('base64');
    return `SharedKey ${options.accountName}:${signature}`;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const serviceUrl = `http://127.0.0.1:${port}/${options.accountName}`;

  return {
    port,
    accountName: options.accountName,
    serviceUrl,
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${options.accountName};AccountKey=${options.accountKey};` + `BlobEndpoint=${serviceUrl};`,
    calls,
    file: (fileSystem, path) => {
      const data = fileSystems.get(fileSystem)?.files.get(path)?.data;
      return data === undefined ? undefined : Buffer.from(data);
    },
    fileSystems: () => [...fileSystems.keys()],
    failNext: (count, failure = {}) => {
      failures.push({ remaining: count, outage: failure.outage ?? 503, match: failure.match });
    },
    setDown: (outage) => {
      state.down = outage;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        for (const socket of sockets) socket.destroy();
      }),
  };
}

function classify(method: string, path: string, query: Readonly<Record<string, string>>): Operation {
  const depth = path.split('/').filter((s) => s !== '').length; // account, filesystem, path…
  if (method === 'PUT' && (query.restype === 'container' || query.resource === 'filesystem') && depth === 2) return 'filesystem-create';
  if (method === 'HEAD' && query.restype === 'container' && depth === 2) return 'filesystem-properties';
  if (method === 'PUT' && query.resource === 'file' && depth > 2) return 'path-create';
  if (method === 'PATCH' && query.action === 'append' && depth > 2) return 'append';
  if (method === 'PATCH' && query.action === 'flush' && depth > 2) return 'flush';
  if (method === 'HEAD' && depth > 2) return 'get-properties';
  if (method === 'GET' && depth > 2) return 'read';
  return 'unsupported';
}

/**
 * Query parameters, decoded. With `sdkRules`, only `k=v` pairs with exactly one '=' and a non-empty
 * value count (the SDK's getURLQueries, used in the SharedKey canonicalized resource).
 */
function parseQuery(text: string, sdkRules = false): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split('&')) {
    const at = pair.indexOf('=');
    if (sdkRules && (at <= 0 || at !== pair.lastIndexOf('=') || at === pair.length - 1)) continue;
    if (pair === '') continue;
    const name = at < 0 ? pair : pair.slice(0, at);
    const value = at < 0 ? '' : pair.slice(at + 1);
    out[decodeURIComponent(name)] = decodeURIComponent(value);
  }
  return out;
}

/**
 * The service sorts canonicalized headers culture-aware (en-US), where '-' has no primary weight;
 * comparing without hyphens first, then ordinally, gives the same order for x-ms-* names.
 */
function compareHeaderNames(a: string, b: string): number {
  const a1 = a.replaceAll('-', '');
  const b1 = b.replaceAll('-', '');
  if (a1 !== b1) return a1 < b1 ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'invalid' | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d+)-(\d*)$/.exec(header.trim());
  if (!match) return 'invalid';
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return 'invalid';
  return { start, end };
}

function newEtag(): string {
  return `"0x${randomUUID().replaceAll('-', '').slice(0, 15).toUpperCase()}"`;
}

function commonHeaders(req: IncomingMessage): Record<string, string> {
  return {
    'x-ms-request-id': randomUUID(),
    'x-ms-version': headerText(req.headers['x-ms-version']) ?? SERVICE_VERSION_FALLBACK,
    'x-ms-client-request-id': headerText(req.headers['x-ms-client-request-id']) ?? '',
    Date: new Date().toUTCString(),
    Server: 'fake-datalake (test stand-in for Azure Data Lake Storage Gen2)',
  };
}

function send(
  res: ServerResponse,
  req: IncomingMessage,
  status: number,
  headers: Record<string, string | number>,
  body?: Buffer,
): number {
  const withLength = 'Content-Length' in headers ? headers : { ...headers, 'Content-Length': body?.length ?? 0 };
  res.writeHead(status, { ...commonHeaders(req), ...withLength });
  res.end(req.method === 'HEAD' ? undefined : body);
  return status;
}

/** Errors as the service sends them: x-ms-error-code, and an XML (blob) or JSON (dfs) body. */
function sendError(res: ServerResponse, req: IncomingMessage, status: number, code: string, message: string): number {
  const dfs = req.method === 'PATCH' || (req.url ?? '').includes('resource=');
  const body = dfs
    ? Buffer.from(JSON.stringify({ error: { code, message } }))
    : Buffer.from(`<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
  return send(res, req, status, { 'x-ms-error-code': code, 'Content-Type': dfs ? 'application/json' : 'application/xml' }, body);
}
