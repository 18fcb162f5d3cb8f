/**
 * Reads a STAC item's JSON from a local path (or file:// URL) or an http(s) URL, at most
 * `maxBytes` of it, with the read timeout and retries remote band reads have: a server that
 * answers 5xx or 429, or stays silent, is asked again with backoff; 4xx, a web page, a body past
 * the limit or bad JSON fail at once. Every failure is a SourceReadError naming the item without
 * its query (a signature is a secret).
 */
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { InvalidRequestError, SourceReadError, describeError } from '../../shared/errors.js';
import { retry, retryPolicy, type RetryPolicy } from '../../shared/retry.js';
import { isHttpUrl, withoutQuery } from '../../shared/urls.js';
import { BodyTooLargeError, ReadDeadline, readBody } from './read-deadline.js';
import { parseStacItem, type StacItem } from './stac-item.js';

export interface StacLoadOptions {
  readonly signal?: AbortSignal;
  /** Silence after which one attempt is given up (READ_TIMEOUT_MS). */
  readonly readTimeoutMs: number;
  /** Largest item accepted, in bytes (items are a few kB; 1 MiB leaves room). */
  readonly maxBytes?: number;
  readonly retry?: RetryPolicy;
  readonly fetch?: typeof fetch;
}

const DEFAULT_MAX_BYTES = 1024 * 1024;
const DEFAULT_RETRY = retryPolicy({ initialMs: 500, maxMs: 5_000, factor: 2, jitter: 0.5, attempts: 4 });

/** A failure that asking again cannot mend. */
class PermanentItemError extends SourceReadError {}

export async function loadStacItem(location: string, options: StacLoadOptions): Promise<StacItem> {
  const shown = withoutQuery(location);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  let text: string;
  try {
    text = isHttpUrl(location) ? await fetchText(location, maxBytes, options) : await readLocal(location, maxBytes);
  } catch (error) {
    if (error instanceof SourceReadError || options.signal?.aborted) throw error;
    throw new SourceReadError(`cannot read the STAC item "${shown}": ${describeError(error)}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidRequestError(`the STAC item "${shown}" is not JSON (${describeError(error)})`, { cause: error });
  }
  return parseStacItem(json, location);
}

async function readLocal(location: string, maxBytes: number): Promise<string> {
  const path = /^file:\/\//i.test(location) ? fileURLToPath(location) : location;
  const info = await stat(path).catch((error: unknown) => {
    throw new PermanentItemError(`cannot read the STAC item "${path}": ${describeError(error)}`, { cause: error });
  });
  if (!info.isFile()) throw new PermanentItemError(`the STAC item "${path}" is not a file`);
  if (info.size > maxBytes) throw new PermanentItemError(`the STAC item "${path}" is ${info.size} bytes, more than the ${maxBytes} a STAC item may be`);
  return readFile(path, 'utf8');
}

async function fetchText(url: string, maxBytes: number, options: StacLoadOptions): Promise<string> {
  const shown = withoutQuery(url);
  const fetchImpl = options.fetch ?? fetch;
  return retry(
    async () => {
      const deadline = new ReadDeadline(options.readTimeoutMs, options.signal);
      try {
        const response = await fetchImpl(url, { signal: deadline.signal, headers: { accept: 'application/geo+json, application/json' } });
        deadline.progress();
        if (!response.ok) {
          await response.body?.cancel().catch(() => undefined);
          const status = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
          if (response.status === 429 || response.status >= 500) throw new Error(`the server answered ${status}`);
          const hint = response.status === 404 || response.status === 410 ? ': check the URL' : response.status === 401 || response.status === 403 ? ': access denied (a signed URL may have expired)' : '';
          throw new PermanentItemError(`the STAC item "${shown}" could not be read: ${status}${hint}`);
        }
        if (/^text\/html\b/i.test(response.headers.get('content-type') ?? '')) {
          await response.body?.cancel().catch(() => undefined);
          throw new PermanentItemError(`"${shown}" is a web page (Content-Type text/html), not a STAC item's JSON`);
        }
        try {
          return Buffer.from(await readBody(response, deadline, maxBytes)).toString('utf8');
        } catch (error) {
          if (error instanceof BodyTooLargeError) throw new PermanentItemError(`the STAC item "${shown}" is larger than the ${maxBytes} bytes a STAC item may be`);
          throw error;
        }
      } catch (error) {
        if (deadline.expired) throw new Error(`the server sent nothing for ${deadline.timeoutMs} ms (READ_TIMEOUT_MS)`, { cause: error });
        throw error;
      } finally {
        deadline.clear();
      }
    },
    {
      policy: options.retry ?? DEFAULT_RETRY,
      shouldRetry: (error) => !(error instanceof PermanentItemError),
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
}
