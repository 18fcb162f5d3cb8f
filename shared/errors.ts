/**
 * Small named error classes. Anything a user caused (a bad request row, an unreadable file) is a
 * RequestError: the master records its message on the request's row as `failed` and carries on.
 */

export class TesseraError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A configuration variable is missing or malformed. The message names it and says how to fix it. */
export class ConfigError extends TesseraError {
  constructor(
    readonly variable: string,
    problem: string,
    fix: string,
  ) {
    super(`${variable}: ${problem}. ${fix}`);
  }
}

/** The request itself cannot be processed; its message is shown to the user on the `failed` row. */
export class RequestError extends TesseraError {}

/** The request row does not describe a valid request (unknown index, missing band, bad option). */
export class InvalidRequestError extends RequestError {}

/** An input raster could not be opened or read. */
export class SourceReadError extends RequestError {}

/** The inputs cannot be combined (different CRSs, no overlap, unsupported layout). */
export class IncompatibleBandsError extends RequestError {}

/** A tile kept failing on workers until it ran out of attempts. */
export class TileFailedError extends RequestError {}

/** Workers disagreed on a tile's result and no majority could decide which one is right. */
export class VerificationError extends RequestError {}

/** A payload's CRC-32 did not match its bytes. */
export class ChecksumMismatchError extends TesseraError {
  constructor(what: string, expected: number, actual: number) {
    super(`${what}: checksum mismatch (expected ${expected >>> 0}, got ${actual >>> 0})`);
  }
}

/**
 * Hides credentials in URLs inside a message: query values (signed URLs: `?sig=…&se=…`) and
 * passwords (`scheme://user:password@host`). The URL stays recognisable: scheme, host and path.
 */
export function redactUrls(text: string): string {
  return text
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/[^\s/:@"'<>]+):[^\s/@"'<>]*@/gi, '$1:***@')
    .replace(/\b(https?:\/\/[^\s?#"'<>]*)\?([^\s#"'<>]*)/gi, (_, base: string, query: string) =>
      `${base}?${query.replace(/=[^&]*/g, '=***')}`,
    );
}

/** A message for a user: the error's own message, with the cause chain when it adds something; URL secrets hidden. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? error.cause.message : undefined;
    return redactUrls(cause && !error.message.includes(cause) ? `${error.message}: ${cause}` : error.message);
  }
  return redactUrls(String(error));
}
