/**
 * Opening GeoTIFFs with geotiff: local paths (checked for a TIFF header first) and http(s) URLs.
 * Remote files are read with HTTP range requests that are counted per file, retried on network
 * errors and HTTP 5xx/429, and whose failures say what the server answered without showing the
 * URL's query (a signature).
 */
import { fileURLToPath } from 'node:url';
import { BaseClient, BaseResponse, fromCustomClient, fromFile, type GeoTIFF } from 'geotiff';
import { redactUrls } from '../../shared/errors.js';
import { backoffDelay, retryPolicy, wait } from '../../shared/retry.js';
import { withoutQuery } from '../../shared/urls.js';
import { checkBlocksInFile } from './block-extent.js';
import { checkLocalTiff } from './local-tiff-check.js';
import { ReadDeadline, readBody } from './read-deadline.js';
import { notTiffReason } from './tiff-signature.js';
import type { FetchMeter } from './fetch-meter.js';

export const URL_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * How remote reads are retried: network errors and HTTP 5xx/429 up to `retries` more times, waiting
 * `initialDelayMs`, then twice as long each time up to `maxDelayMs`. Other 4xx answers fail at once.
 */
export interface RetryPolicy {
  readonly retries: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ retries: 3, initialDelayMs: 200, maxDelayMs: 2_000 });

/** How long one attempt may wait for the server's next bytes (headers or body) before it is given up. */
export const DEFAULT_READ_TIMEOUT_MS = 30_000;

/** Options for reading over http: a meter to count with, the retry policy, the read timeout, and fetch itself. */
export interface HttpReadOptions {
  readonly meter?: FetchMeter;
  readonly retry?: RetryPolicy;
  /** An attempt that receives nothing for this long fails (and is retried as a network error). */
  readonly readTimeoutMs?: number;
  readonly fetch?: typeof fetch;
}

/**
 * Opens a GeoTIFF by local path or URL; injectable so tests and callers can count or fake opens.
 * `http` carries the meter and retry policy for remote files (an opener may ignore it).
 */
export type TiffOpener = (uri: string, signal?: AbortSignal, http?: HttpReadOptions) => Promise<GeoTIFF>;


/** An HTTP answer that retrying will not change (4xx other than 429, a server ignoring Range). */
class PermanentHttpError extends Error {}

/** A response whose body has been read already (so a failure while reading it could be retried). */
class BufferedResponse extends BaseResponse {
  constructor(
    private readonly statusCode: number,
    private readonly headers: Headers,
    private readonly data: ArrayBuffer,
  ) {
    super();
  }
  override get status(): number {
    return this.statusCode;
  }
  override getHeader(name: string): string | undefined {
    return this.headers.get(name) ?? undefined;
  }
  override async getData(): Promise<ArrayBuffer> {
    return this.data;
  }
}

/**
 * fetch for geotiff: counts requests and bytes, retries network errors and HTTP 5xx/429 with
 * backoff, and turns an HTTP error status into a message saying what happened (geotiff itself only
 * says "Error fetching data."). Messages show the URL without its query.
 */
class CheckedFetchClient extends BaseClient {
  /** The first bytes of the file, once a response starting at byte 0 arrived (to say what a non-TIFF is). */
  head: Uint8Array | undefined;

  constructor(
    url: string,
    private readonly options: HttpReadOptions,
  ) {
    super(url);
  }

  override async request(options: { headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<BaseResponse> {
    const { signal, headers } = options;
    const retry = this.options.retry ?? DEFAULT_RETRY;
    const backoff = retryPolicy({ initialMs: retry.initialDelayMs, maxMs: retry.maxDelayMs, factor: 2, jitter: 0, attempts: retry.retries + 1 });
    const fetchImpl = this.options.fetch ?? fetch;
    const ranged = Object.keys(headers ?? {}).some((name) => name.toLowerCase() === 'range');
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      let failure: string;
      const deadline = new ReadDeadline(this.options.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS, signal);
      try {
        this.options.meter?.countRequest();
        const response = await fetchImpl(this.url, { headers, signal: deadline.signal });
        deadline.progress();
        if (response.ok && !(ranged && response.status === 200)) {
          const data = await readBody(response, deadline);
          this.options.meter?.countBytes(data.byteLength);
          if (ranged) this.options.meter?.noteResponse(response.headers);
          if (this.head === undefined && /^bytes=0-/.test(rangeOf(headers))) this.head = new Uint8Array(data, 0, Math.min(16, data.byteLength));
          return new BufferedResponse(response.status, response.headers, data);
        }
        await response.body?.cancel().catch(() => {});
        const { status } = response;
        const statusText = response.statusText ? ` ${response.statusText}` : '';
        if (status === 200 && /^text\/html\b/i.test(response.headers.get('content-type') ?? '')) {
          throw new PermanentHttpError('the server answered with a web page (Content-Type text/html), not a GeoTIFF: the URL may lead to a sign-in or error page; check it');
        }
        if (status === 200) {
          throw new PermanentHttpError('the server ignores HTTP Range requests (it answered a range request with the whole file); tessera reads remote GeoTIFFs in ranges only');
        }
        if (status === 404 || status === 410) throw new PermanentHttpError(`not found (HTTP ${status}${statusText}): check the URL`);
        if (status === 401 || status === 403) {
          throw new PermanentHttpError(
            `the server refused the URL (HTTP ${status}${statusText}): access denied — a signed URL's signature may have expired ` +
              'or be wrong, or the URL needs credentials; request a new URL',
          );
        }
        if (status !== 429 && status < 500) throw new PermanentHttpError(`the server answered HTTP ${status}${statusText}`);
        failure = `the server answered HTTP ${status}${statusText}`;
      } catch (error) {
        if (error instanceof PermanentHttpError || signal?.aborted) throw error;
        failure = deadline.expired
          ? `the server sent nothing for ${deadline.timeoutMs} ms (READ_TIMEOUT_MS)`
          : `network error: ${this.#networkMessage(error)}`;
      } finally {
        deadline.clear();
      }
      if (attempt >= retry.retries) {
        throw new Error(`${failure} (gave up after ${attempt + 1} attempt${attempt === 0 ? '' : 's'})`);
      }
      await wait(backoffDelay(backoff, attempt + 1), signal);
    }
  }

  /** "fetch failed (connect ECONNREFUSED …)", without the URL's query. */
  #networkMessage(error: unknown): string {
    const parts: string[] = [];
    let current: unknown = error;
    for (let depth = 0; current instanceof Error && depth < 4; depth++) {
      if (!parts.includes(current.message)) parts.push(current.message);
      current = current.cause;
    }
    const text = parts.length === 0 ? String(error) : parts.length === 1 ? parts[0]! : `${parts[0]} (${parts.slice(1).join(': ')})`;
    return redactUrls(text.split(this.url).join(withoutQuery(this.url)));
  }
}

/**
 * An opener whose http(s) reads use `http` (meter, retries) unless the caller of the opener passes
 * its own; local paths and file:// URLs open as with openGeoTiff.
 */
export function httpTiffOpener(http: HttpReadOptions): TiffOpener {
  return (uri, signal, override) => openGeoTiff(uri, signal, { ...http, ...override });
}

/**
 * Opens local paths (and file:// URLs) with fromFile, http(s) URLs through CheckedFetchClient
 * (range requests, counted with `http.meter`, retried per `http.retry`, each attempt given up after
 * `http.readTimeoutMs` without data). Local files are checked first (a readable file with a TIFF
 * header: fromFile keeps its file descriptor open when the header is bad), and refused when shorter
 * than their blocks.
 */
export const openGeoTiff: TiffOpener = async (uri, signal, http = {}) => {
  const scheme = URL_SCHEME.test(uri) ? uri.slice(0, uri.indexOf(':')).toLowerCase() : null;
  if (scheme === 'http' || scheme === 'https') {
    const client = new CheckedFetchClient(uri, http);
    try {
      return await fromCustomClient(client, {}, signal);
    } catch (error) {
      // geotiff says "Invalid byte order value." of anything but a TIFF: say what the server sent instead.
      const reason = client.head && notTiffReason(client.head);
      throw reason ? new Error(reason, { cause: error }) : error;
    }
  }
  const path = scheme === 'file' ? fileURLToPath(uri) : uri;
  await checkLocalTiff(path);
  const tiff = await fromFile(path, signal);
  try {
    // A file shorter than its blocks (a cut-short copy) is refused now, not by the workers later.
    const image = await tiff.getImage(0).catch(() => undefined); // an unreadable image is openTiff's to report
    if (image) await checkBlocksInFile(image, path);
    return tiff;
  } catch (error) {
    await Promise.resolve(tiff.close()).catch(() => undefined);
    throw error;
  }
};

/** The Range header of a request, if any. */
function rangeOf(headers: Record<string, string> | undefined): string {
  const entry = Object.entries(headers ?? {}).find(([name]) => name.toLowerCase() === 'range');
  return entry?.[1] ?? '';
}
