/**
 * A strip's pieces of the mosaic's Cloud-Optimized GeoTIFF (geometry: shared/cog/cog-geometry.ts):
 * its rows of every 512 x 512 tile it meets, at full resolution and at every overview level
 * (nearest: every 2^ℓ-th code of every 2^ℓ-th row), padded with 0 past the grid's edges, each
 * deflated raw and sync-flushed so the master can concatenate a tile's pieces without inflating.
 */
import { promisify } from 'node:util';
import { constants, deflateRaw } from 'node:zlib';

import { InvalidRequestError } from '../shared/errors.js';
import { adler32 } from '../shared/png/adler32.js';
import { COG_TILE, cogPiecesOf, levelSizes, pieceBytes, type CogPieceSpec } from '../shared/cog/cog-geometry.js';
import type { CogPiece } from '../shared/proto/tile-service.js';

const deflateRawAsync = promisify(deflateRaw);

/** GDAL's default DEFLATE level for GeoTIFF (ZLEVEL=6). */
const COG_DEFLATE_LEVEL = 6;

export interface StripCodes {
  /** The strip's codes, row-major, `width` per row. */
  readonly codes: Uint8Array;
  readonly width: number;
  readonly rows: number;
  /** The strip's first row in the grid, and the grid's rows. */
  readonly top: number;
  readonly gridHeight: number;
}

/**
 * The uncompressed bytes of every piece, copied out of `codes` at once (so the caller may reuse
 * the codes while the pieces compress).
 */
export function cutPieces(strip: StripCodes): { spec: CogPieceSpec; raw: Uint8Array }[] {
  const { codes, width, top } = strip;
  if (top + strip.rows > strip.gridHeight || codes.length < width * strip.rows) {
    throw new InvalidRequestError(`COG pieces: a strip of ${strip.rows} rows from row ${top} does not fit a grid of ${strip.gridHeight} rows`);
  }
  const sizes = levelSizes(width, strip.gridHeight);
  return cogPiecesOf({ width, height: strip.gridHeight }, top, strip.rows).map((spec) => {
    const size = sizes[spec.level]!;
    const step = 2 ** spec.level;
    const raw = new Uint8Array(pieceBytes(spec));
    const x0 = spec.tileColumn * COG_TILE;
    const columns = Math.max(0, Math.min(COG_TILE, size.width - x0));
    for (let r = 0; r < spec.rows; r++) {
      const y = spec.tileRow * COG_TILE + spec.firstRow + r;
      if (y >= size.height) break; // padding rows stay 0
      const source = (y * step - top) * width;
      const out = r * COG_TILE;
      if (step === 1) {
        raw.set(codes.subarray(source + x0, source + x0 + columns), out);
      } else {
        for (let c = 0, x = x0 * step; c < columns; c++, x += step) raw[out + c] = codes[source + x]!;
      }
    }
    return { spec, raw };
  });
}

/** Every piece deflated (on libuv's thread pool), in cogPiecesOf's order. */
export async function encodeCogPieces(strip: StripCodes): Promise<CogPiece[]> {
  const pieces = cutPieces(strip);
  return Promise.all(
    pieces.map(async ({ raw }) => ({
      deflate: await deflateRawAsync(raw, { level: COG_DEFLATE_LEVEL, finishFlush: constants.Z_SYNC_FLUSH }),
      adler32: adler32(raw),
    })),
  );
}
