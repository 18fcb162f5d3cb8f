/**
 * ISA-L for the tests of the strips it compresses: loaded, or the reason those tests skip (Debian's
 * libisal2 missing; `.ci/run` installs it, so CI runs them).
 */
import { Isal, IsalUnavailableError } from '../../shared/native/isal.js';

export interface IsalForTests {
  readonly isal: Isal | undefined;
  /** false when loaded; else why the tests that need it skip. */
  readonly skip: string | false;
}

export async function loadIsal(): Promise<IsalForTests> {
  try {
    return { isal: await Isal.load(), skip: false };
  } catch (error) {
    if (!(error instanceof IsalUnavailableError)) throw error;
    return { isal: undefined, skip: `ISA-L is not installed here (apt-get install libisal2): ${error.message}` };
  }
}
