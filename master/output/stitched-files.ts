/**
 * Opens the two stitched PNG files (grey, colour) of every index of a mosaic in its staging folder:
 * fresh ones in a folder made clean, or, for a resumed run, the files a checkpoint left there, cut
 * back to where it says they stood.
 */
import { mkdir, rm } from 'node:fs/promises';
import type { IndexName } from '../../shared/types.js';
import { colourRamp } from './colour-ramp.js';
import type { OutputGrid } from './georeference.js';
import { mosaicFiles, removePngFiles, writeSidecars, type MosaicOutputs } from './mosaic-files.js';
import { PngStitcher } from './png-stitcher.js';
import type { LaneFiles, LaneState } from './strip-lane.js';

export interface StitchedFilesOptions {
  readonly folder: string;
  readonly grid: Pick<OutputGrid, 'width' | 'height'>;
  readonly indices: readonly IndexName[];
  /** Each index's state at the checkpoint to resume from; absent: start afresh. */
  readonly resume?: Readonly<Record<string, LaneState>> | undefined;
}

export async function openStitchedFiles(options: StitchedFilesOptions): Promise<Map<IndexName, LaneFiles>> {
  const { folder, resume } = options;
  if (!resume) {
    await rm(folder, { recursive: true, force: true });
    await mkdir(folder, { recursive: true });
  }
  const { width, height } = options.grid;
  const opened = new Map<IndexName, LaneFiles>();
  try {
    for (const index of options.indices) {
      const files = mosaicFiles(folder, index);
      const grey = { width, height };
      const colour = { width, height, palette: colourRamp(index) };
      const state = resume?.[index];
      const greyFile = state ? await PngStitcher.resume(files.png, grey, state.grey) : await PngStitcher.create(files.png, grey);
      opened.set(index, { grey: greyFile, colour: greyFile }); // closed below if the colour file fails
      const colourFile = state ? await PngStitcher.resume(files.colorPng, colour, state.colour) : await PngStitcher.create(files.colorPng, colour);
      opened.set(index, { grey: greyFile, colour: colourFile });
    }
  } catch (error) {
    await closeStitchedFiles(opened);
    throw error;
  }
  return opened;
}

/** Closes every file `openStitchedFiles` opened (absent: none was), whatever fails. */
export async function closeStitchedFiles(opened: ReadonlyMap<IndexName, LaneFiles> | undefined): Promise<void> {
  await Promise.allSettled([...(opened?.values() ?? [])].flatMap((files) => [files.grey.close(), files.colour.close()]));
}

/**
 * Ends every index's two files and writes their sidecars; with `publishPng` false (a COG-only
 * request) the finished PNGs are removed from the staging folder instead.
 */
export async function finishStitchedFiles(
  opened: ReadonlyMap<IndexName, LaneFiles>,
  options: { readonly folders: { readonly staging: string; readonly final: string }; readonly grid: OutputGrid; readonly crsWkt: string; readonly publishPng: boolean },
): Promise<MosaicOutputs> {
  const outputs: MosaicOutputs = {};
  for (const [index, files] of opened) {
    await Promise.all([files.grey.finish(), files.colour.finish()]);
    outputs[index] = options.publishPng ? await writeSidecars(index, options.folders, options.grid, options.crsWkt) : await removePngFiles(index, options.folders.staging);
  }
  return outputs;
}
