/**
 * The Cloud-Optimized GeoTIFFs of a request's mosaic, one per index (`<index>.tif`), for a
 * StripMosaicWriter whose request asked for `cog`: each index's pieces staged in
 * `<index>.cog-pieces` in the staging folder (cog-staging.ts) until finish writes the files and
 * removes the staging ones.
 */
import { join } from 'node:path';

import type { IndexName } from '../../shared/types.js';
import { CogStaging, type CogPieceData } from './cog-staging.js';
import type { OutputGrid } from './georeference.js';
import { StripPlacementError } from './strip-lane.js';

export type { CogPieceData } from './cog-staging.js';

/** The COG of an index inside `folder`. */
export function cogFile(folder: string, index: IndexName): string {
  return join(folder, `${index}.tif`);
}

export class CogMosaics {
  private readonly staging = new Map<IndexName, CogStaging>();
  /** (index, strip) pairs staged, so a strip is never staged twice. */
  private readonly staged = new Set<string>();

  constructor(folder: string, grid: Pick<OutputGrid, 'width' | 'height'>, indices: readonly IndexName[]) {
    for (const index of indices) this.staging.set(index, new CogStaging(join(folder, `${index}.cog-pieces`), grid));
  }

  /** Stages a strip's pieces of an index (the caller has made the staging folder). */
  async add(index: IndexName, strip: number, pieces: readonly CogPieceData[]): Promise<void> {
    const staging = this.staging.get(index);
    if (!staging) throw new StripPlacementError('unknown-index', `COG pieces of strip ${strip} of ${index}: index not in this mosaic`);
    const key = `${index}/${strip}`;
    if (this.staged.has(key)) throw new StripPlacementError('duplicate', `COG pieces of strip ${strip} of ${index} were staged already`);
    this.staged.add(key);
    await staging.add(strip, pieces);
  }

  /** Forgets the strips' pieces in every index, to be staged again. */
  drop(strips: ReadonlySet<number>): void {
    for (const [index, staging] of this.staging) {
      staging.drop(strips);
      for (const strip of strips) this.staged.delete(`${index}/${strip}`);
    }
  }

  /** Writes every index's COG into `folder` and removes the staging files; index → file name in `finalFolder`. */
  async finish(folder: string, finalFolder: string, grid: OutputGrid, crsWkt: string): Promise<Map<IndexName, string>> {
    const written = new Map<IndexName, string>();
    for (const [index, staging] of this.staging) {
      await staging.finish(cogFile(folder, index), grid, crsWkt);
      await staging.discard();
      written.set(index, cogFile(finalFolder, index));
    }
    return written;
  }

  /** Closes and removes the staging files. */
  async discard(): Promise<void> {
    await Promise.allSettled([...this.staging.values()].map((staging) => staging.discard()));
  }
}
