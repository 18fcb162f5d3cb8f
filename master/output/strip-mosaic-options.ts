/**
 * What a StripMosaicWriter is made with, what it reports, and the check of its options: the grid,
 * the indices and strips, the memory early strips may take, the claim its staging folder is named
 * after, and the checkpoint a resumed run carries on from.
 */
import { TesseraError } from '../../shared/errors.js';
import type { IndexName, OutputFormat } from '../../shared/types.js';
import { auxXmlText, type OutputGrid } from './georeference.js';
import type { LaneState } from './strip-lane.js';

export interface StripMosaicWriterOptions {
  /** Final folder of this request's mosaics, e.g. OUTPUT_DIR/<request id>. */
  readonly outputDir: string;
  readonly grid: OutputGrid;
  readonly indices: readonly IndexName[];
  /** The grid's CRS as WKT (see crsWkt in georeference.ts). */
  readonly crsWkt: string;
  /** Rows of each strip, top to bottom; they add up to grid.height. */
  readonly stripRows: readonly number[];
  /**
   * Most compressed bytes of early strips held in memory at once, over all indices: stats().bufferedBytes
   * never exceeds it (a strip that does not fit goes to a spill file). Not counted: a strip while its
   * addStrip call is pending (the caller's buffer) and the one spilled strip being read back and written.
   */
  readonly maxBufferedBytes: number;
  /** Names this writer's staging folder, `<outputDir>.partial-<claimTag>` (see staging-folders.ts). */
  readonly claimTag: string;
  /**
   * Carry on from a checkpoint: the staging folder already holds every index's two files as they
   * were at it (resume-checkpoint.ts put them there); strips below `strips` are not added again.
   */
  readonly resume?: WriterCheckpoint | undefined;
  /** What finish publishes: 'png' (default), 'cog' (then every strip's COG pieces must be added too), or both. */
  readonly formats?: readonly OutputFormat[] | undefined;
  /** Puts the finished PNGs' data on the disk before finish publishes them (default: syncFiles, fdatasync each). */
  readonly syncFiles?: ((paths: readonly string[]) => Promise<void>) | undefined;
}

/** Where the mosaic files stood after their first `strips` strips, all indices alike. */
export interface WriterCheckpoint {
  readonly strips: number;
  readonly lanes: Readonly<Record<string, LaneState>>;
}

export interface StripMosaicStats {
  readonly bufferedBytes: number;
  readonly peakBufferedBytes: number;
  readonly spilledStrips: number;
  /** (index, strip) pairs written to the mosaic files. */
  readonly writtenStrips: number;
}

/** Refuses options no mosaic can be built from (a programming error, not a request's). */
export function assertValidOptions(options: StripMosaicWriterOptions): void {
  const { indices, stripRows, grid, maxBufferedBytes } = options;
  const problem = (text: string): TesseraError => new TesseraError(`strip mosaic writer: ${text}`);
  if (indices.length === 0) throw problem('no index to write');
  if (new Set(indices).size !== indices.length) throw problem(`duplicate index in ${indices.join(', ')}`);
  if (stripRows.length === 0 || !stripRows.every((rows) => Number.isInteger(rows) && rows > 0)) {
    throw problem(`strip rows [${stripRows.join(', ')}] must be positive integers`);
  }
  const total = stripRows.reduce((sum, rows) => sum + rows, 0);
  if (total !== grid.height) throw problem(`strips have ${total} rows, the grid ${grid.height}`);
  if (!Number.isSafeInteger(maxBufferedBytes) || maxBufferedBytes < 0) {
    throw problem(`maxBufferedBytes ${maxBufferedBytes} must be a non-negative integer`);
  }
  auxXmlText(options.crsWkt); // fails now on an empty WKT rather than at the end
}
