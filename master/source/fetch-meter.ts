/**
 * What reading one remote file has fetched (requests sent, body bytes received), and what its
 * server said the file is: its size (from Content-Range) and ETag, as first seen. Workers that read
 * the blocks themselves (DirectRead) check every response against that identity.
 */

/** HTTP requests sent and response body bytes received. */
export interface FetchCounts {
  readonly requests: number;
  readonly bytes: number;
}

/** A remote file as its server described it. */
export interface RemoteIdentity {
  readonly size: number;
  /** The ETag header as sent (strong or weak); '' when the server sends none. */
  readonly etag: string;
}

/** Counts the HTTP requests one file's reads send and the body bytes they receive. */
export class FetchMeter {
  #requests = 0;
  #bytes = 0;
  #identity: RemoteIdentity | undefined;

  countRequest(): void {
    this.#requests += 1;
  }

  countBytes(bytes: number): void {
    this.#bytes += bytes;
  }

  /** Notes the file's size and ETag from a ranged response's headers (the first that says its size). */
  noteResponse(headers: Headers): void {
    if (this.#identity) return;
    const size = totalOf(headers.get('content-range'));
    if (size !== undefined) this.#identity = { size, etag: headers.get('etag') ?? '' };
  }

  /** The file's size and ETag, once a ranged response told them. */
  identity(): RemoteIdentity | undefined {
    return this.#identity;
  }

  counts(): FetchCounts {
    return { requests: this.#requests, bytes: this.#bytes };
  }
}

/** The complete length of `Content-Range: bytes a-b/total`; undefined when absent or unknown (`*`). */
export function totalOf(contentRange: string | null): number | undefined {
  const match = /^bytes\s+\d+-\d+\/(\d+)$/i.exec(contentRange?.trim() ?? '');
  return match ? Number(match[1]) : undefined;
}

/** Sums the counts of several meters (each counted once). */
export function sumFetched(meters: Iterable<FetchMeter | undefined>): FetchCounts {
  let requests = 0;
  let bytes = 0;
  for (const meter of new Set(meters)) {
    if (!meter) continue;
    const counts = meter.counts();
    requests += counts.requests;
    bytes += counts.bytes;
  }
  return { requests, bytes };
}
