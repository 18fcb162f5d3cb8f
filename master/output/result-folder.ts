/**
 * Result files: where workers that see the master's output volume leave their strips' PNGs instead
 * of sending the bytes (the counterpart of DIRECT_READS, for the results). Sent over gRPC, 153 MB of
 * results for a Sentinel-2 scene arrived as 16 KiB HTTP/2 frames, were joined into messages and
 * collected: most of what was left of the master's CPU per request. Read from a file, they are one
 * read each.
 *
 * A run's folder holds a random token (the file `token`); a task names the folder, the token and a
 * name for its files, and a worker uses them only when it reads the same token there, so a worker on
 * another machine that happens to have a folder of that name sends its bytes as before. The master
 * trusts no path from a worker: it reads `<folder>/<name>.<index>.png`, with the name it gave for
 * that task and attempt and an index name of letters, each file once, and removes it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BufferPool } from '../../shared/buffer-pool.js';
import { describeError } from '../../shared/errors.js';
import type { SubmitResultRequest__Output, TileTask } from '../../shared/proto/tile-service.js';
import { maxStripPngBytes } from '../strip-result-check.js';
import { RejectedResultError } from '../dispatch/tile-lease.js';
import { readFully } from '../../shared/read-fully.js';

export const RESULT_TOKEN_FILE = 'token';

/**
 * Buffers the files are read into, reused once their strip is written (release()): a strip's PNGs
 * are megabytes each, and on the 2-core VM every fresh page costs the kernel a fault and a clear.
 * Enough for a few strips of two indices in flight.
 */
const READ_BUFFERS = { keep: 8, minimumSize: 0 } as const;

/** The TileTask fields that offer a folder for result files. */
export type ResultFileFields = Pick<TileTask, 'resultFolder' | 'resultToken' | 'resultName'>;

export class ResultFolder {
  readonly #buffers = new BufferPool(READ_BUFFERS);
  /** The buffers each collected result's PNGs were read into, until release(). */
  readonly #lent = new WeakMap<SubmitResultRequest__Output, Buffer[]>();

  private constructor(
    readonly path: string,
    private readonly token: string,
  ) {}

  /** Creates `path` (emptied if it exists) with a new token. */
  static async create(path: string): Promise<ResultFolder> {
    await rm(path, { recursive: true, force: true });
    await mkdir(path, { recursive: true });
    const token = randomBytes(16).toString('hex');
    await writeFile(join(path, RESULT_TOKEN_FILE), token);
    return new ResultFolder(path, token);
  }

  /** What a task carries for attempt `attempt` of `taskId`. */
  fields(taskId: string, attempt: number): ResultFileFields {
    return { resultFolder: this.path, resultToken: this.token, resultName: fileStem(taskId, attempt) };
  }

  /**
   * Fills in the PNGs `result` left in files (png_in_file), read from this folder under the name
   * given for its task and attempt, each no bigger than a strip of the task's size can be; the
   * files are removed. A file that is
   * missing, of another size or too big is the worker's fault (RejectedResultError).
   */
  async collect(result: SubmitResultRequest__Output, taskId: string, task: Pick<TileTask, 'width' | 'height'>): Promise<void> {
    const maxBytes = maxStripPngBytes(task.width ?? 0, task.height ?? 0);
    const inFiles = result.tiles.filter((tile) => tile.pngInFile);
    const pathOf = (index: string): string | undefined => (/^[a-z]+$/.test(index) ? join(this.path, `${fileStem(taskId, result.attempt)}.${index}.png`) : undefined);
    try {
      for (const tile of inFiles) {
        const path = pathOf(tile.index);
        if (!path) throw new Error(`index "${tile.index.slice(0, 40)}" cannot name a result file`);
        if (tile.pngSize > maxBytes) throw new Error(`${tile.index}: a ${tile.pngSize}-byte PNG for a strip whose PNG cannot exceed ${maxBytes} bytes`);
        const buffer = this.#buffers.take(tile.pngSize);
        this.#lent.set(result, [...(this.#lent.get(result) ?? []), buffer]);
        tile.png = await readExactly(path, buffer.subarray(0, tile.pngSize));
      }
    } catch (error) {
      throw new RejectedResultError(`result files: ${describeError(error)}`, { cause: error });
    } finally {
      await Promise.all(inFiles.map((tile) => pathOf(tile.index)).map((path) => path && unlink(path).catch(() => undefined)));
    }
  }

  /**
   * `result`'s PNGs are written (or copied where they wait), so the buffers collect() read them into
   * may be reused. A result never released (refused, outvoted) leaves its buffers to the collector.
   */
  release(result: SubmitResultRequest__Output): void {
    for (const buffer of this.#lent.get(result) ?? []) this.#buffers.give(buffer);
    this.#lent.delete(result);
  }

  /** Removes the folder and whatever is left in it (results never collected). */
  remove(): Promise<void> {
    return rm(this.path, { recursive: true, force: true });
  }
}

/** A task id ("<request>/<claim>/<tile>[/<variant>]") and attempt as a file name. */
function fileStem(taskId: string, attempt: number): string {
  return `${taskId.replace(/[^A-Za-z0-9._-]/g, '_')}.a${attempt}`;
}

/** Fills `bytes` with the file's, when it has exactly that many; returns `bytes`. */
async function readExactly(path: string, bytes: Buffer): Promise<Buffer> {
  const size = bytes.length;
  const handle = await open(path, 'r');
  try {
    const { size: actual } = await handle.stat();
    if (actual !== size) throw new Error(`${path}: ${actual} bytes, the worker reported ${size}`);
    const read = await readFully(handle, bytes, 0);
    if (read < size) throw new Error(`${path}: ended after ${read} of ${size} bytes`);
    return bytes;
  } finally {
    await handle.close();
  }
}
