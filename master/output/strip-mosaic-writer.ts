/**
 * Builds a request's mosaics from workers' strips without decoding a pixel (replaces mosaic-writer.ts
 * for the strip design). Per index, `<index>.png` (grey codes) and `<index>_color.png` (indexed, the
 * index's colour ramp as palette, code 0 transparent) share the same IDAT bytes: each strip's raw
 * DEFLATE data, appended to both as soon as it follows what is written. Strips that come early wait in
 * a StripHolding (memory up to maxBufferedBytes, then spill files). Everything is written under
 * `<outputDir>.partial/`, which `finish` renames to `<outputDir>` in one step, with the sidecars
 * (world file, `.png.aux.xml`) of both files. A request asking for `cog` also gets `<index>.tif`, from
 * the strips' COG pieces (cog-mosaics.ts); one asking for `cog` only publishes no PNG.
 */
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { TesseraError } from '../../shared/errors.js';
import type { StripData } from '../../shared/png/strip-png.js';
import type { IndexName } from '../../shared/types.js';
import { CogMosaics, type CogPieceData } from './cog-mosaics.js';
import { assertValidGrid, type OutputGrid } from './georeference.js';
import { mosaicFiles, type FinishOptions, type MosaicOutputs } from './mosaic-files.js';
import { closeStitchedFiles, finishStitchedFiles, openStitchedFiles } from './stitched-files.js';
import { publishWhenSynced, syncFiles } from './publish-folder.js';
import { ResultFolder } from './result-folder.js';
import { stagingFolderOf } from './staging-folders.js';
import { StripHolding } from './strip-holding.js';
import { StripPlacementError, type LaneFiles } from './strip-lane.js';
import { StripLanes } from './strip-lanes.js';
import { assertValidOptions, type StripMosaicStats, type StripMosaicWriterOptions, type WriterCheckpoint } from './strip-mosaic-options.js';

export { StripPlacementError } from './strip-lane.js';
export type { StripMosaicStats, StripMosaicWriterOptions, WriterCheckpoint } from './strip-mosaic-options.js';

/** finish() found strips that never arrived. */
export class IncompleteMosaicError extends TesseraError {}

type WriterState = 'open' | 'finishing' | 'finished' | 'aborted';

export class StripMosaicWriter {
  private readonly outputDir: string;
  private readonly stagingDir: string;
  private readonly grid: OutputGrid;
  private readonly wkt: string;
  private readonly lanes: StripLanes;
  private readonly holding: StripHolding;
  private readonly cogs: CogMosaics | undefined;
  private readonly publishPng: boolean;
  private readonly syncFiles: (paths: readonly string[]) => Promise<void>;
  private prepared: Promise<Map<IndexName, LaneFiles>> | undefined;
  private results: Promise<ResultFolder> | undefined;
  private finishing: Promise<unknown> | undefined;
  /** The first error from writing a file: the files are then incomplete, so everything after fails. */
  private failure: { readonly error: unknown } | undefined;
  private state: WriterState = 'open';
  private readonly resume: WriterCheckpoint | undefined;
  private checkpointed: number;

  constructor(options: StripMosaicWriterOptions) {
    assertValidGrid(options.grid);
    assertValidOptions(options);
    this.outputDir = resolve(options.outputDir);
    this.stagingDir = stagingFolderOf(this.outputDir, options.claimTag);
    this.grid = options.grid;
    this.wkt = options.crsWkt;
    this.holding = new StripHolding(join(this.stagingDir, 'spill'), options.maxBufferedBytes);
    this.resume = options.resume;
    this.checkpointed = options.resume?.strips ?? 0;
    const formats = options.formats ?? ['png'];
    this.publishPng = formats.includes('png');
    this.syncFiles = options.syncFiles ?? syncFiles;
    this.cogs = formats.includes('cog') ? new CogMosaics(this.stagingDir, this.grid, options.indices) : undefined;
    this.lanes = new StripLanes({ indices: options.indices, stripRows: [...options.stripRows], width: this.grid.width, holding: this.holding, resume: options.resume });
  }

  /** The folder workers may leave results in (result-folder.ts), in the staging folder; removed before publishing. */
  resultFolder(): Promise<ResultFolder> {
    this.assertOpen('resultFolder');
    this.results ??= this.prepare().then(() => ResultFolder.create(join(this.stagingDir, 'results')));
    return this.results;
  }

  /** The folder this writer writes in until finish() publishes it. */
  get stagingFolder(): string {
    return this.stagingDir;
  }

  /**
   * The longest run of strips from the top that every index has written, once those bytes are on
   * the disk; undefined when that is no further than the last checkpoint (or nothing is open).
   */
  async checkpoint(): Promise<WriterCheckpoint | undefined> {
    if (this.state !== 'open' || !this.prepared || this.failure) return undefined;
    const strips = this.lanes.writtenByAll();
    if (strips <= this.checkpointed) return undefined;
    const lanes = this.lanes.statesAt(strips);
    if (!lanes) return undefined;
    const opened = await this.prepared;
    await Promise.all([...opened.values()].flatMap((files) => [files.grey.sync(), files.colour.sync()]));
    this.checkpointed = strips;
    return { strips, lanes };
  }

  /**
   * Add strip number `strip` (0 = top) of an index. Rejects with a StripPlacementError, before anything
   * is written, for an unknown index, a strip number out of range, a strip already added, or data of the
   * wrong size; filesystem errors reject unchanged. Resolves once the strip is written or held (held
   * strips are copied), so the caller may reuse `data`'s buffer then.
   */
  async addStrip(index: IndexName, strip: number, data: StripData): Promise<void> {
    this.assertOpen('addStrip');
    const lane = this.lanes.laneFor(index, strip);
    lane.reserve(strip, data);
    await this.recordingFailure(() => lane.place(strip, data, () => this.filesFor(index, strip)));
  }

  /** Stage strip number `strip`'s COG pieces of an index (checked against the strip: cog-result-check.ts). */
  async addCogPieces(index: IndexName, strip: number, pieces: readonly CogPieceData[]): Promise<void> {
    this.assertOpen('addCogPieces');
    if (!this.cogs) throw new TesseraError(`${this.where()}: COG pieces for a mosaic without a COG`);
    const cogs = this.cogs;
    await this.recordingFailure(async () => {
      await this.filesFor(index, strip); // the staging folder exists from here on
      await cogs.add(index, strip, pieces);
    });
  }

  /**
   * Take strips back out of the mosaic, to be added again (their worker was caught returning wrong
   * results): every index forgets them, held or written. Written ones are cut off the files; the
   * strips written after the first of them are read back into the holding and written again as
   * they were. Call only while no addStrip is under way; the caller keeps any checkpoint consistent
   * (RunCheckpointer.dropStrips).
   */
  async dropStrips(strips: readonly number[]): Promise<void> {
    this.assertOpen('dropStrips');
    if (strips.length === 0) return;
    await this.lanes.settled();
    this.assertNoFailure();
    const opened = this.prepared ? await this.prepared : undefined;
    const dropped = new Set(strips);
    await this.recordingFailure(async () => {
      await this.lanes.drop(dropped, opened);
      this.cogs?.drop(dropped);
    });
    this.checkpointed = Math.min(this.checkpointed, ...strips);
  }

  /**
   * Finish both files of every index, write the sidecars and move the folder into place; `beforePublish`
   * may add files (the manifest) to the staging folder first. Rejects with IncompleteMosaicError when a
   * strip never arrived; on any failure the staging folder is removed.
   */
  async finish(options: FinishOptions = {}): Promise<MosaicOutputs> {
    this.assertOpen('finish');
    this.state = 'finishing';
    const finishing = this.finishAll(options);
    this.finishing = finishing.catch(() => undefined);
    return finishing;
  }

  /**
   * Stop writing but keep the staging folder and its files, for a later claim to resume from its
   * checkpoint (the master is stopping); only the spill files of early strips are removed.
   */
  async suspend(): Promise<void> {
    if (this.state !== 'open') return this.abort();
    this.state = 'aborted';
    await this.lanes.settled();
    await closeStitchedFiles(await this.prepared?.catch(() => undefined));
    await this.cogs?.discard(); // a COG's staged pieces are not resumed (see run-output.ts)
    await this.removeScratch();
  }

  /** Drop the staging folder (nothing else: an existing finished `<outputDir>` is left alone). */
  async abort(): Promise<void> {
    if (this.state === 'finishing') await this.finishing; // a failed finish has cleaned up already
    if (this.state === 'finished' || this.state === 'aborted') return;
    this.state = 'aborted';
    await this.lanes.settled();
    await this.discard();
  }

  stats(): StripMosaicStats {
    return { ...this.holding.stats(), writtenStrips: this.lanes.writtenStrips() };
  }

  /** The index's files, once the staging folder is ready; refuses after abort or a failed write. */
  private async filesFor(index: IndexName, strip: number): Promise<LaneFiles> {
    if (this.state === 'aborted') {
      throw new TesseraError(`${this.where()}: strip ${strip} of ${index} arrived after abort`);
    }
    this.assertNoFailure();
    return (await this.prepare()).get(index)!;
  }

  private async finishAll(options: FinishOptions): Promise<MosaicOutputs> {
    await this.lanes.settled();
    try {
      if (this.failure) throw this.failure.error;
      this.assertComplete();
      const folders = { staging: this.stagingDir, final: this.outputDir };
      const outputs = await finishStitchedFiles(await this.prepare(), { folders, grid: this.grid, crsWkt: this.wkt, publishPng: this.publishPng });
      const cogs = await this.cogs?.finish(this.stagingDir, this.outputDir, this.grid, this.wkt);
      for (const [index, cog] of cogs ?? []) outputs[index] = { ...outputs[index], cog };
      await this.removeScratch();
      const files = this.publishPng ? this.lanes.indices.flatMap((index) => [mosaicFiles(this.stagingDir, index).png, mosaicFiles(this.stagingDir, index).colorPng]) : [];
      const { beforePublish } = options;
      const meanwhile = beforePublish ? () => beforePublish(this.stagingDir) : undefined;
      await publishWhenSynced({ ...folders, files, syncFiles: this.syncFiles, meanwhile });
      this.state = 'finished';
      return outputs;
    } catch (error) {
      this.state = 'aborted';
      // The error that stopped finish matters more than one from cleaning up; the next run's prepare
      // removes a staging folder left behind.
      await this.discard().catch(() => undefined);
      throw error;
    }
  }

  private assertComplete(): void {
    const missing = this.lanes.missing();
    if (missing) throw new IncompleteMosaicError(`${this.where()}: ${missing} never arrived (of ${this.lanes.stripCount} per index)`);
  }

  /**
   * Open every file, once: in a clean staging folder (a crashed earlier run may have left one), or,
   * resuming, the files already in it as they were at the checkpoint.
   */
  private prepare(): Promise<Map<IndexName, LaneFiles>> {
    this.prepared ??= openStitchedFiles({ folder: this.stagingDir, grid: this.grid, indices: this.lanes.indices, resume: this.resume?.lanes });
    return this.prepared;
  }

  /** The spill files of early strips and the result files never collected: not outputs, never published or resumed. */
  private async removeScratch(): Promise<void> {
    await this.results?.then((folder) => folder.remove(), () => undefined);
    await rm(join(this.stagingDir, 'spill'), { recursive: true, force: true });
  }

  /** Close whatever files are open and remove the staging folder. */
  private async discard(): Promise<void> {
    await closeStitchedFiles(await this.prepared?.catch(() => undefined));
    await this.cogs?.discard();
    await rm(this.stagingDir, { recursive: true, force: true });
  }

  /**
   * Run `work`; its error, unless a StripPlacementError (refused before anything was written), is kept
   * as the writer's failure (the files are incomplete from then on) and rethrown.
   */
  private async recordingFailure(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      if (!(error instanceof StripPlacementError)) this.failure ??= { error };
      throw error;
    }
  }

  private assertNoFailure(): void {
    if (this.failure) throw new TesseraError(`${this.where()}: an earlier write failed`, { cause: this.failure.error });
  }

  private assertOpen(action: string): void {
    if (this.state !== 'open') throw new TesseraError(`${this.where()}: ${action} after the writer was ${this.state}`);
  }

  private where(): string {
    return `strip mosaic writer for ${this.outputDir}`;
  }
}
