/**
 * The optional native libraries for the tests that compare them with node:zlib: loaded, or the reason
 * those tests skip (Debian's package missing; `.ci/run` installs both, so CI runs them).
 */
import { Isal, IsalUnavailableError } from '../../shared/native/isal.js';
import { Libdeflate, LibdeflateUnavailableError } from '../../shared/native/libdeflate.js';

export interface Optional<T> {
  readonly library: T | undefined;
  /** false when loaded; else why the tests that need it skip. */
  readonly skip: string | false;
}

async function optional<T>(load: () => Promise<T>, unavailable: abstract new (...args: never[]) => Error, what: string): Promise<Optional<T>> {
  try {
    return { library: await load(), skip: false };
  } catch (error) {
    if (!(error instanceof unavailable)) throw error;
    return { library: undefined, skip: `${what} is not installed here: ${error.message}` };
  }
}

export const loadLibdeflate = (): Promise<Optional<Libdeflate>> => optional(() => Libdeflate.load(), LibdeflateUnavailableError, 'libdeflate');
export const loadIsal = (): Promise<Optional<Isal>> => optional(() => Isal.load(), IsalUnavailableError, 'ISA-L');
