/**
 * The native library a master uses, loaded once at start: ISA-L (Debian's libisal2), where it loads,
 * checks the CRCs of the workers' strip chunks (5–6× node:zlib's), compresses the master's own web
 * previews, and tells STRIP_DEFLATE=auto that this installation's workers can compress with it.
 */
import { crc32, type Crc32 } from '../shared/checksum.js';
import type { StripDeflateChoice } from '../shared/config/master-config.js';
import type { Logger } from '../shared/logger.js';
import { Isal, IsalUnavailableError } from '../shared/native/isal.js';
import { IsalStripDeflater, ZlibStripDeflater, type StripDeflater } from '../shared/png/strip-deflater.js';
import type { StripDeflate } from '../shared/types.js';

export interface MasterCodecs {
  /** What every task asks the workers to compress the strips with. */
  readonly stripDeflate: StripDeflate;
  /** What checks the results' PNG chunk CRCs. */
  readonly crc32: Crc32;
  /**
   * What the master compresses its own PNGs with (the web previews): ISA-L where it loaded, else
   * node:zlib. A full scene's two 1825 × 1830 previews: 70 ms of node:zlib on the master.
   */
  readonly previewDeflater: StripDeflater;
  close(): void;
}

export interface MasterCodecsOptions {
  readonly log?: Logger;
  /** How ISA-L is loaded (tests pass one that fails). */
  readonly loadIsal?: () => Promise<Isal>;
}

/**
 * STRIP_DEFLATE resolved (auto: isal where this master can load ISA-L, else zlib; the others as they
 * are: a master without ISA-L may still ask its workers for it) and the CRC-32 to check results with.
 */
export async function loadMasterCodecs(choice: StripDeflateChoice, { log, loadIsal = () => Isal.load() }: MasterCodecsOptions = {}): Promise<MasterCodecs> {
  let isal: Isal | undefined;
  let why: string | undefined;
  try {
    isal = await loadIsal();
  } catch (error) {
    if (!(error instanceof IsalUnavailableError)) throw error;
    why = error.message;
  }
  const stripDeflate: StripDeflate = choice === 'auto' ? (isal ? 'isal' : 'zlib') : choice;
  const loaded = isal;
  log?.info({ stripDeflate, crc: loaded ? 'isal' : 'node:zlib', previews: loaded ? 'isal' : 'node:zlib', ...(why ? { why } : {}) }, 'strip compression');
  return {
    stripDeflate,
    crc32: loaded ? (data, initial) => loaded.crc32(data, initial) : crc32,
    previewDeflater: loaded ? new IsalStripDeflater(loaded) : new ZlibStripDeflater(),
    close: () => loaded?.close(),
  };
}
