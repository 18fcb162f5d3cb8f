/**
 * libdeflate for the tests that compare it with node:zlib: loaded, or the reason those tests skip
 * (Debian's libdeflate0 missing; `.ci/run` installs it, so CI runs them).
 */
import { Libdeflate, LibdeflateUnavailableError } from '../../shared/native/libdeflate.js';

export interface LibdeflateForTests {
  readonly library: Libdeflate | undefined;
  /** false when loaded; else why the tests that need it skip. */
  readonly skip: string | false;
}

export async function loadLibdeflate(): Promise<LibdeflateForTests> {
  try {
    return { library: await Libdeflate.load(), skip: false };
  } catch (error) {
    if (!(error instanceof LibdeflateUnavailableError)) throw error;
    return { library: undefined, skip: `libdeflate is not installed here (apt-get install libdeflate0): ${error.message}` };
  }
}
