/**
 * A read timeout for one HTTP attempt: its signal aborts when the server has sent nothing for
 * `timeoutMs` — no headers yet, or a body that stopped arriving — and every byte received starts the
 * wait again. Node's fetch would otherwise wait 300 s for a body that stalls after its headers.
 */

/** Aborts `signal` after `timeoutMs` without progress, or when the caller's own signal aborts. */
export class ReadDeadline {
  readonly #timeoutMs: number;
  readonly #silence = new AbortController();
  readonly #signal: AbortSignal;
  #timer: NodeJS.Timeout | undefined;
  #expired = false;

  constructor(timeoutMs: number, caller?: AbortSignal) {
    this.#timeoutMs = timeoutMs;
    this.#signal = caller ? AbortSignal.any([caller, this.#silence.signal]) : this.#silence.signal;
    this.#arm();
  }

  /** Aborts on the caller's abort, or once the server has been silent for the timeout. */
  get signal(): AbortSignal {
    return this.#signal;
  }

  /** Whether the attempt was abandoned because the server stayed silent (not the caller's abort). */
  get expired(): boolean {
    return this.#expired;
  }

  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /** Data arrived: the server gets another full timeout. */
  progress(): void {
    if (this.#signal.aborted) return;
    this.#arm();
  }

  /** The attempt is over: no timer left behind. */
  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#expired = true;
      this.#silence.abort(new DOMException(`no data for ${this.#timeoutMs} ms`, 'TimeoutError'));
    }, this.#timeoutMs);
  }
}

/** A body went past the `maxBytes` its reader allows; the rest was not read. */
export class BodyTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`the body is larger than ${maxBytes} bytes`);
  }
}

/**
 * Reads a response body to the end, telling `deadline` of every chunk that arrives; with
 * `maxBytes`, stops reading (and cancels the body) with a BodyTooLargeError past that many.
 */
export async function readBody(response: Response, deadline: ReadDeadline, maxBytes = Number.POSITIVE_INFINITY): Promise<ArrayBuffer> {
  if (!response.body) return new ArrayBuffer(0);
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      deadline.progress();
      length += value.byteLength;
      if (length > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new BodyTooLargeError(maxBytes);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  if (chunks.length === 1 && chunks[0]!.byteOffset === 0 && chunks[0]!.byteLength === chunks[0]!.buffer.byteLength) {
    return chunks[0]!.buffer as ArrayBuffer;
  }
  const data = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    data.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return data.buffer;
}
