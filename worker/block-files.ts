/**
 * The files a worker reads stored blocks from itself (DirectRead): a local file it sees at the
 * master's path, opened once and checked against the master's size and modification time; or a
 * remote one read with HTTP range requests, every answer checked against the size and ETag the
 * master's reads saw. Any mismatch or failure is a DirectReadError, after which the worker asks the
 * master for the data instead.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { TesseraError } from '../shared/errors.js';
import { retry, retryPolicy } from '../shared/retry.js';
import { isHttpUrl, withoutQuery } from '../shared/urls.js';
import type { DirectRead__Output } from '../shared/proto/generated/tessera/v1/DirectRead.js';
import { readFully } from '../shared/read-fully.js';

/** Reading a file directly failed (I/O error, the file changed, the server refused): the tile falls back to ReadSources. */
export class DirectReadError extends TesseraError {
  constructor(
    /** The file's path or URL, as the task names it (forget() takes it). */
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Where a block's bytes come from. */
export interface BlockFile {
  /** The path or URL, as the task names it. */
  readonly name: string;
  /** Fills `into` with the `into.length` bytes at `offset`; DirectReadError when it cannot. */
  read(into: Buffer, offset: number): Promise<void>;
  close(): Promise<void>;
}

/** One attempt of a range request may wait this long for the server's answer and body. */
const ATTEMPT_TIMEOUT_MS = 30_000;
/** Network errors and 5xx/429 are tried again: three attempts in all, 200 ms then 400 ms apart. */
const REMOTE_RETRY = retryPolicy({ initialMs: 200, maxMs: 2_000, factor: 2, jitter: 0.5, attempts: 3 });

/** The file the task's DirectRead names, or null when this worker does not see that file as the master did. */
export async function openBlockFile(direct: DirectRead__Output): Promise<BlockFile | null> {
  if (direct.url) return isHttpUrl(direct.url) ? new RemoteBlockFile(direct.url, direct.size, direct.etag) : null;
  if (!direct.path) return null;
  const handle = await open(direct.path, 'r').catch(() => null);
  if (!handle) return null;
  const stats = await handle.stat().catch(() => null);
  if (stats && stats.size === direct.size && stats.mtimeMs === direct.mtimeMs) return new LocalBlockFile(direct.path, handle);
  await handle.close().catch(() => undefined);
  return null;
}

class LocalBlockFile implements BlockFile {
  constructor(
    readonly name: string,
    private readonly handle: FileHandle,
  ) {}

  async read(into: Buffer, offset: number): Promise<void> {
    let filled = 0;
    try {
      filled = await readFully(this.handle, into, offset);
    } catch (error) {
      throw new DirectReadError(this.name, `${this.name}: cannot read ${into.length} bytes at ${offset}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    if (filled < into.length) throw new DirectReadError(this.name, `${this.name}: the file ends ${into.length - filled} bytes short of the block at ${offset}`);
  }

  close(): Promise<void> {
    return this.handle.close().catch(() => undefined);
  }
}

/** An answer retrying will not change (the file is not the one planned with, or the server refuses). */
class FinalAnswer extends Error {}

class RemoteBlockFile implements BlockFile {
  readonly #shown: string;

  constructor(
    readonly name: string,
    private readonly size: number,
    private readonly etag: string,
  ) {
    this.#shown = withoutQuery(name); // a signed URL's query is a secret
  }

  async read(into: Buffer, offset: number): Promise<void> {
    const range = `bytes=${offset}-${offset + into.length - 1}`;
    try {
      await retry(() => this.#fetchInto(into, range), { policy: REMOTE_RETRY, shouldRetry: (error) => !(error instanceof FinalAnswer) });
    } catch (error) {
      throw new DirectReadError(this.name, `${this.#shown} ${range}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  async #fetchInto(into: Buffer, range: string): Promise<void> {
    const response = await fetch(this.name, { headers: { range }, signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS) });
    if (response.status !== 206) {
      await response.body?.cancel().catch(() => undefined);
      const status = `HTTP ${response.status}`;
      if (response.status === 429 || response.status >= 500) throw new Error(status);
      throw new FinalAnswer(response.status === 200 ? `${status}: the server ignored the range` : status);
    }
    const total = /\/(\d+)$/.exec(response.headers.get('content-range') ?? '')?.[1];
    const etag = response.headers.get('etag') ?? '';
    if (Number(total) !== this.size || etag !== this.etag) {
      await response.body?.cancel().catch(() => undefined);
      throw new FinalAnswer(`the file is not the one the master read (size ${total ?? '?'} for ${this.size}, ETag ${etag || 'none'} for ${this.etag || 'none'})`);
    }
    let filled = 0;
    for await (const piece of response.body ?? []) {
      const bytes = piece as Uint8Array;
      if (filled + bytes.length > into.length) throw new FinalAnswer(`the server sent more than the ${into.length} bytes asked for`);
      into.set(bytes, filled);
      filled += bytes.length;
    }
    if (filled < into.length) throw new Error(`the answer ended after ${filled} of ${into.length} bytes`);
  }

  async close(): Promise<void> {}
}
