/**
 * Names of one request's mosaic files, shared by the mosaic writers: per index a grey code PNG, a colour
 * PNG, and a world file and a GDAL `.png.aux.xml` for each of the two.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { IndexName } from '../../shared/types.js';
import { auxXmlText, worldFileText, type OutputGrid } from './georeference.js';

/** Absolute paths of one index's PNG files and their sidecars. */
export interface PngFiles {
  readonly png: string;
  readonly colorPng: string;
  readonly worldFile: string;
  readonly auxXml: string;
  readonly colorWorldFile: string;
  readonly colorAuxXml: string;
}

/** One index's finished files: the PNGs (format png) and the COG (format cog). */
export type MosaicFiles = Partial<PngFiles> & { readonly cog?: string };

/** One entry per index the writer was created with. */
export type MosaicOutputs = Partial<Record<IndexName, MosaicFiles>>;

export interface FinishOptions {
  /** Called with the staging folder once the mosaics are written, before it is renamed into place. */
  readonly beforePublish?: (stagingDir: string) => Promise<void>;
}

/** The files of one index inside `folder`. */
export function mosaicFiles(folder: string, index: IndexName): PngFiles {
  return {
    png: join(folder, `${index}.png`),
    colorPng: join(folder, `${index}_color.png`),
    worldFile: join(folder, `${index}.pgw`),
    auxXml: join(folder, `${index}.png.aux.xml`),
    colorWorldFile: join(folder, `${index}_color.pgw`),
    colorAuxXml: join(folder, `${index}_color.png.aux.xml`),
  };
}

/**
 * Writes the world file and `.png.aux.xml` of both of an index's PNGs into the staging folder, and
 * returns where the index's files will be once that folder is published.
 */
export async function writeSidecars(index: IndexName, folders: { readonly staging: string; readonly final: string }, grid: OutputGrid, crsWkt: string): Promise<MosaicFiles> {
  const files = mosaicFiles(folders.staging, index);
  const world = worldFileText(grid);
  const aux = auxXmlText(crsWkt);
  await Promise.all([writeFile(files.worldFile, world), writeFile(files.auxXml, aux), writeFile(files.colorWorldFile, world), writeFile(files.colorAuxXml, aux)]);
  return mosaicFiles(folders.final, index);
}

/** A request without the png format: its stitched PNGs leave the staging folder unpublished; no PNG files to list. */
export async function removePngFiles(index: IndexName, staging: string): Promise<MosaicFiles> {
  const files = mosaicFiles(staging, index);
  await Promise.all([rm(files.png, { force: true }), rm(files.colorPng, { force: true })]);
  return {};
}
