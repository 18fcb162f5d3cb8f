/**
 * One index's Cloud-Optimized GeoTIFF, from the pieces workers compressed to the finished file,
 * without inflating or deflating a byte. Pieces are appended to a staging file in whatever order
 * strips arrive (memory holds only where each piece lies); `finish` lays the tiles out in COG order
 * (cog-tiff-header.ts) and writes each one as a zlib stream: a header, its pieces top to bottom,
 * an empty final block and the Adler-32 combined from the pieces'. The bytes depend only on the
 * pieces, so the file is the same whichever worker sent which strip and in whatever order.
 */
import { open, rm, type FileHandle } from 'node:fs/promises';

import { TesseraError } from '../../shared/errors.js';
import { COG_TILE, levelSizes, pieceBytes, tileCounts, type CogPieceSpec, type LevelSize } from '../../shared/cog/cog-geometry.js';
import { adler32Combine } from '../../shared/png/adler32.js';
import { zlibHeader, zlibTrailer, STREAM_TAIL_LENGTH } from '../../shared/png/zlib-framing.js';
import { cogHeader, TILE_TRAILER, type CogLevel } from './cog-tiff-header.js';
import type { OutputGrid } from './georeference.js';

/** A checked piece as the master receives it. */
export interface CogPieceData {
  readonly spec: CogPieceSpec;
  readonly deflate: Uint8Array;
  readonly adler32: number;
}

interface StagedPiece {
  readonly strip: number;
  readonly firstRow: number;
  readonly rows: number;
  readonly offset: number;
  readonly length: number;
  readonly adler32: number;
}

/** What finish wrote. */
export interface CogFileInfo {
  readonly bytes: number;
  readonly overviews: number;
}

/** Bytes gathered before one write to the COG. */
const WRITE_BATCH = 1 << 20;
/** The zlib header the workers' level implies (informational only; any level inflates alike). */
const TILE_ZLIB_HEADER = zlibHeader(6);

export class CogStaging {
  private readonly sizes: LevelSize[];
  /** Per level, per tile (row-major): the pieces staged for it. */
  private readonly tiles: StagedPiece[][][];
  private handle: Promise<FileHandle> | undefined;
  private length = 0;

  constructor(
    private readonly stagingPath: string,
    grid: Pick<OutputGrid, 'width' | 'height'>,
  ) {
    this.sizes = levelSizes(grid.width, grid.height);
    this.tiles = this.sizes.map((size) => {
      const { across, down } = tileCounts(size);
      return Array.from({ length: across * down }, () => []);
    });
  }

  /** Appends a strip's pieces to the staging file (one write) and notes where they lie. */
  async add(strip: number, pieces: readonly CogPieceData[]): Promise<void> {
    const offset = this.length;
    const bytes = pieces.reduce((sum, piece) => sum + piece.deflate.length, 0);
    this.length += bytes;
    const handle = await (this.handle ??= open(this.stagingPath, 'w+'));
    if (bytes > 0) await handle.writev(pieces.map((piece) => piece.deflate), offset);
    let at = offset;
    for (const { spec, deflate, adler32 } of pieces) {
      this.tileOf(spec).push({ strip, firstRow: spec.firstRow, rows: spec.rows, offset: at, length: deflate.length, adler32 });
      at += deflate.length;
    }
  }

  /** Forgets the strips' pieces (their bytes stay in the staging file, unused). */
  drop(strips: ReadonlySet<number>): void {
    for (const level of this.tiles) {
      for (const [i, pieces] of level.entries()) level[i] = pieces.filter((piece) => !strips.has(piece.strip));
    }
  }

  /** Writes the COG at `path` from the staged pieces; every tile must be covered exactly. */
  async finish(path: string, grid: OutputGrid, crsWkt: string): Promise<CogFileInfo> {
    const ordered = this.tiles.map((level, l) => level.map((pieces, t) => this.covering(pieces, l, t)));
    const levels: CogLevel[] = this.sizes.map((size, l) => ({
      ...size,
      tileBytes: ordered[l]!.map((pieces) => TILE_ZLIB_HEADER.length + pieces.reduce((sum, p) => sum + p.length, 0) + STREAM_TAIL_LENGTH),
    }));
    const { header, fileBytes } = cogHeader(levels, grid, crsWkt);
    const source = await (this.handle ??= open(this.stagingPath, 'w+'));
    const out = await open(path, 'w');
    try {
      let batch: Buffer[] = [header];
      let batched = header.length;
      let position = 0;
      const flush = async (): Promise<void> => {
        await out.writev(batch, position);
        position += batched;
        batch = [];
        batched = 0;
      };
      const push = async (part: Buffer): Promise<void> => {
        batch.push(part);
        batched += part.length;
        if (batched >= WRITE_BATCH) await flush();
      };
      for (let l = levels.length - 1; l >= 0; l--) {
        for (const [t, pieces] of ordered[l]!.entries()) {
          const leader = Buffer.alloc(4);
          leader.writeUInt32LE(levels[l]!.tileBytes[t]!);
          await push(leader);
          await push(TILE_ZLIB_HEADER);
          let adler = 1;
          for (const piece of pieces) {
            const data = Buffer.alloc(piece.length);
            await source.read(data, 0, piece.length, piece.offset);
            await push(data);
            adler = adler32Combine(adler, piece.adler32, pieceBytes(piece));
          }
          const tail = zlibTrailer(adler);
          await push(tail);
          await push(tail.subarray(tail.length - TILE_TRAILER));
        }
      }
      await flush();
      if (position !== fileBytes) throw new TesseraError(`COG ${path}: wrote ${position} bytes, laid out ${fileBytes}`);
      await out.sync();
    } finally {
      await out.close();
    }
    return { bytes: fileBytes, overviews: levels.length - 1 };
  }

  /** Closes and removes the staging file. */
  async discard(): Promise<void> {
    const handle = await this.handle?.catch(() => undefined);
    this.handle = undefined;
    await handle?.close().catch(() => undefined);
    await rm(this.stagingPath, { force: true });
  }

  private tileOf(spec: CogPieceSpec): StagedPiece[] {
    const size = this.sizes[spec.level];
    const pieces = size ? this.tiles[spec.level]?.[spec.tileRow * tileCounts(size).across + spec.tileColumn] : undefined;
    if (!pieces) throw new TesseraError(`COG piece for level ${spec.level} tile (${spec.tileColumn}, ${spec.tileRow}) lies outside the file`);
    return pieces;
  }

  /** The tile's pieces top to bottom, or a TesseraError when they leave a gap or overlap. */
  private covering(pieces: readonly StagedPiece[], level: number, tile: number): StagedPiece[] {
    const sorted = [...pieces].sort((a, b) => a.firstRow - b.firstRow);
    let row = 0;
    let used = 0;
    for (const piece of sorted) {
      if (piece.firstRow !== row) break;
      row += piece.rows;
      used++;
    }
    if (row !== COG_TILE || used !== sorted.length) throw new TesseraError(`COG level ${level} tile ${tile}: its pieces cover rows 0..${row} of ${COG_TILE} (a strip never arrived?)`);
    return sorted;
  }
}
