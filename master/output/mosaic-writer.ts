/**
 * Merges a request's index tiles into one mosaic per index with sharp, keeping memory flat: tiles are
 * staged as PNG files (grey codes + colourised RGBA) under `<outputDir>.partial/`, composited there in
 * bounded batches, and the finished folder is renamed to `<outputDir>` in one step, so a half-written
 * mosaic never looks finished.
 *
 * Outputs per index: `<index>.png` (8-bit grey codes, 0 = no-data), `<index>_color.png` (RGBA, no-data
 * transparent), and for each of the two a world file and a `.png.aux.xml` holding the CRS.
 *
 * libvips' operation cache is process-wide; this module never changes it. Staged file names carry a
 * random token, so a cached decode of an older file can never be reused. The master may call
 * `sharp.cache(false)` once at start-up to keep libvips from holding decoded images it will not reuse.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

import sharp from 'sharp';

import { TesseraError } from '../../shared/errors.js';
import { checkCodesPng, decodeCodesPng } from '../../shared/raster/index-math.js';
import type { IndexName } from '../../shared/types.js';
import { colourRamp, colouriseCodes } from './colour-ramp.js';
import { assertValidGrid, auxXmlText, worldFileText, type OutputGrid } from './georeference.js';

export interface MosaicWriterOptions {
  /** Final folder of this request's mosaics, e.g. OUTPUT_DIR/<request id>. */
  readonly outputDir: string;
  readonly grid: OutputGrid;
  readonly indices: readonly IndexName[];
  /** The grid's CRS as WKT (see crsWkt in georeference.ts). */
  readonly crsWkt: string;
}

/** Absolute paths of one index's finished files. */
export interface MosaicFiles {
  readonly png: string;
  readonly colorPng: string;
  readonly worldFile: string;
  readonly auxXml: string;
  readonly colorWorldFile: string;
  readonly colorAuxXml: string;
}

/** One entry per index the writer was created with. */
export type MosaicOutputs = Partial<Record<IndexName, MosaicFiles>>;

/**
 * At most this many images go into one sharp composite: libvips keeps per-input state (about 0.4 MB
 * each, measured), so 1600 inputs at once peaked at 1.5 GB; larger sets are merged in strips. Measured
 * with 48: a 10980² mosaic from 121 tiles of 1024² peaks near 0.5 GB RSS, about 10 s per index.
 */
const MAX_COMPOSITE_INPUTS = 48;
/** zlib level for staged and intermediate PNGs (written once, read once). */
const STAGING_COMPRESSION = 1;
/** zlib level for the delivered mosaics (sharp's default). */
const OUTPUT_COMPRESSION = 6;

type Layer = 'grey' | 'rgba';

/** An image file placed in a region, in pixels relative to the region's upper-left corner. */
interface Placed {
  readonly file: string;
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

interface StagedTile {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
  readonly grey: string;
  readonly rgba: string;
}

type WriterState = 'open' | 'finishing' | 'finished' | 'aborted';

export interface FinishOptions {
  /** Called with the staging folder once the mosaics are written, before it is renamed into place. */
  readonly beforePublish?: (stagingDir: string) => Promise<void>;
}

export class MosaicWriter {
  private readonly outputDir: string;
  private readonly stagingDir: string;
  private readonly ramps = new Map<IndexName, Uint8Array>();
  private readonly tilesDir: string;
  private readonly workDir: string;
  private readonly grid: OutputGrid;
  private readonly indices: readonly IndexName[];
  private readonly wkt: string;
  /** Random per-writer token in every staged file name (see the header about libvips' cache). */
  private readonly token = randomBytes(6).toString('hex');
  private readonly staged = new Map<IndexName, StagedTile[]>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private prepared: Promise<void> | undefined;
  private state: WriterState = 'open';

  constructor(options: MosaicWriterOptions) {
    assertValidGrid(options.grid);
    if (options.indices.length === 0) throw new TesseraError('mosaic writer: no index to write');
    if (new Set(options.indices).size !== options.indices.length) {
      throw new TesseraError(`mosaic writer: duplicate index in ${options.indices.join(', ')}`);
    }
    this.outputDir = resolve(options.outputDir);
    this.stagingDir = `${this.outputDir}.partial`;
    this.tilesDir = join(this.stagingDir, 'tiles');
    this.workDir = join(this.stagingDir, 'work');
    this.grid = options.grid;
    this.indices = [...options.indices];
    this.wkt = options.crsWkt;
    auxXmlText(this.wkt); // fail now on an empty WKT rather than at the end
    for (const index of this.indices) {
      this.staged.set(index, []);
      this.ramps.set(index, colourRamp(index)); // once per mosaic, not once per tile
    }
  }

  /**
   * Stage one index tile whose upper-left pixel is at (left, top) of the grid. Throws a TesseraError if the
   * PNG is not 8-bit 1-channel, does not fit inside the grid, or overlaps a tile already staged.
   */
  async addTile(index: IndexName, left: number, top: number, png: Buffer): Promise<void> {
    const work = this.stageTile(index, left, top, png);
    this.inFlight.add(work);
    try {
      await work;
    } finally {
      this.inFlight.delete(work);
    }
  }

  /**
   * Composite everything, write the sidecars and move the folder into place. `beforePublish` may add
   * files (the manifest) to the staging folder, so they appear together with the mosaics.
   */
  async finish(options: FinishOptions = {}): Promise<MosaicOutputs> {
    this.assertOpen('finish');
    this.state = 'finishing';
    await Promise.allSettled([...this.inFlight]);
    try {
      await this.prepare();
      const outputs: MosaicOutputs = {};
      for (const index of this.indices) {
        outputs[index] = await this.writeIndex(index);
      }
      await rm(this.tilesDir, { recursive: true, force: true });
      await rm(this.workDir, { recursive: true, force: true });
      await options.beforePublish?.(this.stagingDir);
      await this.moveIntoPlace();
      this.state = 'finished';
      return outputs;
    } catch (error) {
      this.state = 'aborted';
      await rm(this.stagingDir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Drop everything staged (the staging folder); an existing finished `<outputDir>` is left alone. */
  async abort(): Promise<void> {
    if (this.state === 'finished') return;
    this.state = 'aborted';
    await Promise.allSettled([...this.inFlight]);
    await rm(this.stagingDir, { recursive: true, force: true });
  }

  private async stageTile(index: IndexName, left: number, top: number, png: Buffer): Promise<void> {
    this.assertOpen('addTile');
    const where = `tile ${index} at (${left}, ${top})`;
    const tiles = this.staged.get(index);
    if (!tiles) throw new TesseraError(`${where}: index not in this mosaic (${this.indices.join(', ')})`);
    if (!Number.isInteger(left) || !Number.isInteger(top) || left < 0 || top < 0) {
      throw new TesseraError(`${where}: position must be non-negative integers`);
    }
    let size: { width: number; height: number };
    try {
      size = await checkCodesPng(png);
    } catch (error) {
      throw new TesseraError(`${where}: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
    }
    const { width, height } = size;
    if (left + width > this.grid.width || top + height > this.grid.height) {
      throw new TesseraError(
        `${where}: ${width}x${height} tile does not fit in the ${this.grid.width}x${this.grid.height} grid`,
      );
    }
    this.assertOpen('addTile'); // the writer may have been finished or aborted while we awaited
    // The same tile again (a result re-sent after an earlier attempt failed half-way) replaces it.
    const same = tiles.findIndex((t) => t.left === left && t.top === top && t.width === width && t.height === height);
    if (same >= 0) tiles.splice(same, 1);
    const clash = tiles.find((t) => overlaps(t, left, top, width, height));
    if (clash) {
      throw new TesseraError(
        `${where}: overlaps the ${clash.width}x${clash.height} tile already at (${clash.left}, ${clash.top})`,
      );
    }
    const name = `${index}_${left}_${top}_${this.token}`;
    const tile: StagedTile = {
      left,
      top,
      width,
      height,
      grey: join(this.tilesDir, `${name}.png`),
      rgba: join(this.tilesDir, `${name}_rgba.png`),
    };
    tiles.push(tile); // reserve the area now, so a concurrent addTile sees it
    try {
      await this.prepare();
      const { codes } = await decodeCodesPng(png);
      const rgba = colouriseCodes(codes, this.ramps.get(index) ?? colourRamp(index));
      await Promise.all([
        writeFile(tile.grey, png),
        sharp(rgba, { raw: { width, height, channels: 4 } })
          .png({ compressionLevel: STAGING_COMPRESSION })
          .toFile(tile.rgba),
      ]);
    } catch (error) {
      tiles.splice(tiles.indexOf(tile), 1);
      throw error;
    }
  }

  private async writeIndex(index: IndexName): Promise<MosaicFiles> {
    const tiles = this.staged.get(index) ?? [];
    const { width, height } = this.grid;
    const names = new FileNames(this.workDir, `${index}_${this.token}`);
    const files = {
      png: join(this.stagingDir, `${index}.png`),
      colorPng: join(this.stagingDir, `${index}_color.png`),
      worldFile: join(this.stagingDir, `${index}.pgw`),
      auxXml: join(this.stagingDir, `${index}.png.aux.xml`),
      colorWorldFile: join(this.stagingDir, `${index}_color.pgw`),
      colorAuxXml: join(this.stagingDir, `${index}_color.png.aux.xml`),
    };
    const place = (layer: Layer): Placed[] =>
      tiles.map((t) => ({
        file: layer === 'grey' ? t.grey : t.rgba,
        left: t.left,
        top: t.top,
        width: t.width,
        height: t.height,
      }));
    await Promise.all([
      mergeRegion(place('grey'), width, height, 'grey', files.png, OUTPUT_COMPRESSION, names),
      mergeRegion(place('rgba'), width, height, 'rgba', files.colorPng, OUTPUT_COMPRESSION, names),
    ]);
    const world = worldFileText(this.grid);
    const aux = auxXmlText(this.wkt);
    await Promise.all([
      writeFile(files.worldFile, world),
      writeFile(files.auxXml, aux),
      writeFile(files.colorWorldFile, world),
      writeFile(files.colorAuxXml, aux),
    ]);
    const final = (path: string): string => join(this.outputDir, basename(path));
    return {
      png: final(files.png),
      colorPng: final(files.colorPng),
      worldFile: final(files.worldFile),
      auxXml: final(files.auxXml),
      colorWorldFile: final(files.colorWorldFile),
      colorAuxXml: final(files.colorAuxXml),
    };
  }

  /** Swap the staging folder in as `<outputDir>`, replacing an earlier run's folder if there is one. */
  private async moveIntoPlace(): Promise<void> {
    const previous = `${this.outputDir}.old-${this.token}`;
    const hadPrevious = await exists(this.outputDir);
    if (hadPrevious) await rename(this.outputDir, previous);
    await rename(this.stagingDir, this.outputDir);
    if (hadPrevious) await rm(previous, { recursive: true, force: true });
  }

  /** Create a clean staging folder once (a crashed earlier run may have left one behind). */
  private prepare(): Promise<void> {
    this.prepared ??= (async () => {
      await rm(this.stagingDir, { recursive: true, force: true });
      await mkdir(dirname(this.stagingDir), { recursive: true });
      await mkdir(this.tilesDir, { recursive: true });
      await mkdir(this.workDir, { recursive: true });
    })();
    return this.prepared;
  }

  private assertOpen(action: string): void {
    if (this.state !== 'open') {
      throw new TesseraError(`mosaic writer for ${this.outputDir}: ${action} after the writer was ${this.state}`);
    }
  }
}

/** Unique names for intermediate images of one index. */
class FileNames {
  private next = 0;
  constructor(
    private readonly folder: string,
    private readonly prefix: string,
  ) {}
  take(): string {
    this.next += 1;
    return join(this.folder, `${this.prefix}_${this.next}.png`);
  }
}

/**
 * Composite non-overlapping images onto a blank width × height region and write it to `out`. With more
 * than MAX_COMPOSITE_INPUTS images, the region is cut into strips (rows, else columns) that no image
 * crosses, strips are merged on their own into intermediate files, and those are composited.
 */
async function mergeRegion(
  images: readonly Placed[],
  width: number,
  height: number,
  layer: Layer,
  out: string,
  compressionLevel: number,
  names: FileNames,
): Promise<void> {
  const strips = images.length > MAX_COMPOSITE_INPUTS ? splitIntoStrips(images, width, height) : undefined;
  if (!strips) {
    await composite(images, width, height, layer, out, compressionLevel);
    return;
  }
  const intermediates: Placed[] = [];
  try {
    for (const strip of strips) {
      const file = names.take();
      const inner = strip.images.map((im) => ({ ...im, left: im.left - strip.left, top: im.top - strip.top }));
      await mergeRegion(inner, strip.width, strip.height, layer, file, STAGING_COMPRESSION, names);
      intermediates.push({ file, left: strip.left, top: strip.top, width: strip.width, height: strip.height });
    }
    await composite(intermediates, width, height, layer, out, compressionLevel);
  } finally {
    await Promise.all(intermediates.map((im) => rm(im.file, { force: true })));
  }
}

interface Strip {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
  readonly images: readonly Placed[];
}

/**
 * At most MAX_COMPOSITE_INPUTS strips covering the images, none of them crossed by an image: rows when
 * the images allow two or more, else columns; undefined when neither (images interlocking both ways).
 */
function splitIntoStrips(images: readonly Placed[], width: number, height: number): Strip[] | undefined {
  for (const axis of ['y', 'x'] as const) {
    const start = (im: Placed): number => (axis === 'y' ? im.top : im.left);
    const end = (im: Placed): number => (axis === 'y' ? im.top + im.height : im.left + im.width);
    const sorted = [...images].sort((p, q) => start(p) - start(q));
    const bands: Placed[][] = [];
    let bandEnd = Number.NEGATIVE_INFINITY;
    for (const im of sorted) {
      const current = bands[bands.length - 1];
      if (current && start(im) < bandEnd) {
        current.push(im);
        bandEnd = Math.max(bandEnd, end(im));
      } else {
        bands.push([im]);
        bandEnd = end(im);
      }
    }
    if (bands.length < 2) continue;
    const perStrip = Math.ceil(bands.length / MAX_COMPOSITE_INPUTS);
    const strips: Strip[] = [];
    for (let k = 0; k < bands.length; k += perStrip) {
      const members = bands.slice(k, k + perStrip).flat();
      const from = Math.min(...members.map(start));
      const to = Math.max(...members.map(end));
      strips.push(
        axis === 'y'
          ? { left: 0, top: from, width, height: to - from, images: members }
          : { left: from, top: 0, width: to - from, height, images: members },
      );
    }
    return strips;
  }
  return undefined;
}

/**
 * One sharp composite onto a blank canvas. Grey: a black 3-channel canvas, 1-channel inputs (libvips
 * copies a grey value into all three bands), then band 0 is extracted, which keeps every code exact.
 * RGBA: a transparent canvas with opaque or fully transparent inputs, which "over" also keeps exact.
 */
async function composite(
  images: readonly Placed[],
  width: number,
  height: number,
  layer: Layer,
  out: string,
  compressionLevel: number,
): Promise<void> {
  const canvas = sharp({
    create:
      layer === 'grey'
        ? { width, height, channels: 3, background: { r: 0, g: 0, b: 0 } }
        : { width, height, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
    limitInputPixels: false,
  });
  const merged =
    images.length === 0
      ? canvas
      : canvas.composite(
          images.map((im) => ({ input: im.file, left: im.left, top: im.top, limitInputPixels: false as const })),
        );
  const shaped = layer === 'grey' ? merged.extractChannel(0) : merged.ensureAlpha();
  await shaped.png({ compressionLevel }).toFile(out);
}

function overlaps(t: StagedTile, left: number, top: number, width: number, height: number): boolean {
  return left < t.left + t.width && t.left < left + width && top < t.top + t.height && t.top < top + height;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
