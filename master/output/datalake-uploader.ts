/**
 * Uploads a finished request's files (PNGs, sidecars, manifest) to Azure Data Lake Storage Gen2 with
 * @azure/storage-file-datalake, to `<folder>/<request id>/<file name>` in the configured filesystem
 * (created when missing), and returns each file's URL — never with a SAS query or any other secret.
 *
 * Retries are ours, not the SDK's: the SDK pipeline gets `maxTries: 1`, so one failed request fails
 * the attempt at once, and `upload` retries the files not yet uploaded with exponential backoff (with
 * jitter) up to `settings.attempts` times. Each file attempt has a client-side deadline (the SDK has
 * none by default: a silent endpoint would hang forever). Files are streamed from disk in 4 MiB
 * appends (4 at a time) and committed with one flush; a retried file is created afresh, which
 * discards what a failed attempt left. When every attempt fails, `upload` rejects with a
 * DataLakeUploadError saying what failed; its message never contains an account key or a SAS sig.
 */
import { stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { performance } from 'node:perf_hooks';

import { RestError, type DataLakeFileSystemClient } from '@azure/storage-file-datalake';

import { TesseraError, describeError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { retry, retryPolicy, type RetryPolicy } from '../../shared/retry.js';
import { redactSecrets, serviceClient } from './datalake-client.js';
import type { DataLakeSettings } from './datalake-config.js';

export interface DataLakeUploaderOptions {
  readonly settings: DataLakeSettings;
  readonly log: Logger;
  /** Wait before retry n: initialMs · 2^(n-1), capped at maxMs, times a random 0.5–1. Default 1 s … 30 s. */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /**
   * Deadline of one attempt at one file (and at creating the filesystem). Default: 60 s plus 1 s per
   * 256 KiB of the file. Tests shorten it to exercise a silent endpoint.
   */
  readonly attemptTimeoutMs?: number;
}

export interface UploadOptions {
  /** Aborts the upload (the master is stopping); `upload` then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** Every attempt failed. The message names the request, the target and the last problem, without secrets. */
export class DataLakeUploadError extends TesseraError {
  constructor(
    message: string,
    readonly attempts: number,
    /** File names not uploaded. */
    readonly notUploaded: readonly string[],
  ) {
    super(message);
  }
}

const DEFAULT_BACKOFF = { initialMs: 1_000, maxMs: 30_000 } as const;
/** Bytes per append request; files up to this size go in one append. */
const CHUNK_BYTES = 4 * 1024 * 1024;
/** Appends of one file in flight at once (each streams its range from disk). */
const CHUNK_CONCURRENCY = 4;
const BASE_TIMEOUT_MS = 60_000;
/** Slowest throughput tolerated before a file attempt is given up. */
const MIN_BYTES_PER_SECOND = 256 * 1024;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.png': 'image/png',
  '.json': 'application/json',
  '.xml': 'application/xml',
  '.pgw': 'text/plain',
  '.wld': 'text/plain',
  '.txt': 'text/plain',
};

export class DataLakeUploader {
  readonly #settings: DataLakeSettings;
  readonly #log: Logger;
  readonly #backoff: Pick<RetryPolicy, 'initialMs' | 'maxMs'>;
  readonly #attemptTimeoutMs: number | undefined;
  readonly #fileSystem: DataLakeFileSystemClient;
  /** The filesystem was created (or found) by this uploader; reset after any failure. */
  #fileSystemReady = false;

  constructor(options: DataLakeUploaderOptions) {
    this.#settings = options.settings;
    this.#log = options.log;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#attemptTimeoutMs = options.attemptTimeoutMs;
    this.#fileSystem = serviceClient(options.settings).getFileSystemClient(options.settings.fileSystem);
  }

  /**
   * Uploads `files` (absolute local paths) to `<folder>/<requestId>/<file name>`; resolves to
   * file name → URL (no query). Rejects with DataLakeUploadError after `attempts` failed attempts,
   * at once with a TesseraError when a local file is missing or two files share a name.
   */
  async upload(requestId: string, files: readonly string[], options: UploadOptions = {}): Promise<Record<string, string>> {
    const { signal } = options;
    const { attempts, fileSystem } = this.#settings;
    const directory = this.#directoryOf(requestId);
    const log = this.#log.child({ requestId, fileSystem, directory });
    const remaining = await localFiles(files);
    const urls: Record<string, string> = {};
    const started = performance.now();
    let bytes = 0;
    let lastProblem = '';

    const policy = retryPolicy({ ...this.#backoff, factor: 2, jitter: 0.5, attempts });
    try {
      return await retry(
        async (attempt) => {
          let step = `creating filesystem "${fileSystem}"`;
          try {
            await this.#ensureFileSystem(signal);
            for (const [name, file] of remaining) {
              step = `uploading ${name} (${file.size} bytes)`;
              urls[name] = await this.#uploadFile(`${directory}/${name}`, file, signal);
              bytes += file.size;
              remaining.delete(name);
            }
          } catch (error) {
            this.#fileSystemReady = false;
            lastProblem = `${step}: ${this.#describe(error)}`;
            throw error;
          }
          log.info({ files: files.length, bytes, attempts: attempt, ms: Math.round(performance.now() - started) }, 'uploaded to Azure Data Lake');
          return urls;
        },
        {
          policy,
          signal,
          onRetry: ({ attempt, delayMs }) =>
            log.warn({ attempt, attempts, problem: lastProblem, notUploaded: [...remaining.keys()], retryInMs: delayMs }, 'Azure Data Lake upload failed; retrying'),
        },
      );
    } catch {
      // No cause: the SDK's error may hold what #describe took out of lastProblem (keys, signatures).
      if (signal?.aborted) throw signal.reason;
      const left = [...remaining.keys()];
      log.warn({ attempt: attempts, attempts, problem: lastProblem, notUploaded: left }, 'Azure Data Lake upload failed; giving up');
      throw new DataLakeUploadError(
        `upload of request ${requestId} to Azure Data Lake (filesystem "${fileSystem}", folder "${directory}") failed after ` +
          `${attempts} attempt${attempts === 1 ? '' : 's'}; ${left.length} of ${files.length} files not uploaded (${left.join(', ')}); ` +
          `last error: ${lastProblem}`,
        attempts,
        left,
      );
    }
  }

  #directoryOf(requestId: string): string {
    if (requestId === '' || requestId === '.' || requestId === '..' || /[/\\]/.test(requestId)) {
      throw new TesseraError(`upload: request id ${JSON.stringify(requestId)} cannot be a folder name`);
    }
    return this.#settings.folder === '' ? requestId : `${this.#settings.folder}/${requestId}`;
  }

  async #ensureFileSystem(signal: AbortSignal | undefined): Promise<void> {
    if (this.#fileSystemReady) return;
    const deadline = this.#deadline(0, signal);
    try {
      await this.#fileSystem.createIfNotExists({ abortSignal: deadline.signal });
    } catch (error) {
      // A SAS scoped to the filesystem may not create containers; the uploads themselves will tell.
      if (!(error instanceof RestError && error.statusCode === 403)) throw deadline.explain(error);
      this.#log.debug({ error: this.#describe(error) }, 'cannot create the filesystem (403); assuming it exists');
    }
    this.#fileSystemReady = true;
  }

  async #uploadFile(path: string, file: LocalFile, signal: AbortSignal | undefined): Promise<string> {
    const client = this.#fileSystem.getFileClient(path);
    const deadline = this.#deadline(file.size, signal);
    try {
      await client.uploadFile(file.path, {
        abortSignal: deadline.signal,
        chunkSize: CHUNK_BYTES,
        singleUploadThreshold: CHUNK_BYTES,
        maxConcurrency: CHUNK_CONCURRENCY,
        pathHttpHeaders: { contentType: CONTENT_TYPES[extname(file.path).toLowerCase()] ?? 'application/octet-stream' },
      });
    } catch (error) {
      throw deadline.explain(error);
    }
    const url = new URL(client.url);
    url.search = '';
    url.hash = '';
    return url.toString();
  }

  /**
   * A per-attempt deadline combined with the caller's signal. `explain` (called on failure) also
   * cancels the attempt's requests still in flight — the other appends of a file whose one append
   * failed — so none lands after the retry re-created the file; it names a timeout as such.
   */
  #deadline(size: number, signal: AbortSignal | undefined): { signal: AbortSignal; explain(error: unknown): unknown } {
    const ms = this.#attemptTimeoutMs ?? BASE_TIMEOUT_MS + Math.ceil((size / MIN_BYTES_PER_SECOND) * 1000);
    const timeout = AbortSignal.timeout(ms);
    const failed = new AbortController();
    return {
      signal: AbortSignal.any(signal ? [signal, timeout, failed.signal] : [timeout, failed.signal]),
      explain: (error) => {
        const timedOut = timeout.aborted && !signal?.aborted;
        failed.abort();
        return timedOut ? new TesseraError(`no answer from Azure Data Lake within ${ms} ms`, { cause: error }) : error;
      },
    };
  }

  /** A one-line reason without secrets: HTTP status and service error code when there are some. */
  #describe(error: unknown): string {
    let text = describeError(error);
    if (error instanceof RestError) {
      const parts = [error.statusCode === undefined ? undefined : `HTTP ${error.statusCode}`, error.code].filter((p) => p !== undefined);
      const prefix = parts.join(' ');
      if (prefix !== '' && !text.includes(prefix)) text = `${prefix}: ${text}`;
    }
    return redactSecrets(text, this.#settings);
  }
}

interface LocalFile {
  readonly path: string;
  readonly size: number;
}

/** name → file, checked up front: retrying cannot bring back a missing local file. */
async function localFiles(files: readonly string[]): Promise<Map<string, LocalFile>> {
  const byName = new Map<string, LocalFile>();
  for (const path of files) {
    const name = basename(path);
    if (byName.has(name)) throw new TesseraError(`upload: two files are named ${name} (${byName.get(name)?.path} and ${path})`);
    let size: number;
    try {
      const info = await stat(path);
      if (!info.isFile()) throw new Error('not a regular file');
      size = info.size;
    } catch (error) {
      throw new TesseraError(`upload: cannot read ${path}: ${describeError(error)}`, { cause: error });
    }
    byName.set(name, { path, size });
  }
  return byName;
}
