/**
 * Checks a result's COG pieces against its strip before a byte of them is staged, as
 * strip-result-check.ts does for the PNGs: for every index exactly the pieces the strip owes
 * (cogPiecesOf), each a run of raw DEFLATE blocks that can be concatenated (a first block without
 * the final bit, a sync-flush tail) and no bigger than its rows stored uncompressed. A result that
 * does not fit is the worker's fault (RejectedResultError: the strip is handed out again). Whether
 * the pieces hold the right codes only redundancy can tell (VERIFY_FRACTION).
 */
import { cogPiecesOf, pieceBytes } from '../shared/cog/cog-geometry.js';
import { TesseraError, describeError } from '../shared/errors.js';
import { SYNC_FLUSH_MARKER } from '../shared/png/zlib-framing.js';
import type { SubmitResultRequest__Output } from '../shared/proto/tile-service.js';
import type { IndexName } from '../shared/types.js';
import { RejectedResultError } from './dispatch/tile-dispatcher.js';
import type { CogPieceData } from './output/cog-mosaics.js';

/** Each index's checked pieces, in cogPiecesOf's order. */
export type CheckedCog = ReadonlyMap<IndexName, readonly CogPieceData[]>;

/** The most bytes a piece of `raw` uncompressed bytes may take: stored blocks (5 bytes per 64 KiB) and a sync flush, with room. */
export function maxPieceBytes(raw: number): number {
  return raw + 5 * Math.ceil(raw / 65535 + 1) + SYNC_FLUSH_MARKER.length + 64;
}

/**
 * The pieces of a result for a strip of `rows` rows from row `top` of a `grid`; `wanted` false: the
 * result must carry none (the request asked for no COG).
 */
export function checkCogResult(
  result: SubmitResultRequest__Output,
  strip: { readonly index: number; readonly top: number; readonly rows: number },
  grid: { readonly width: number; readonly height: number },
  wanted: boolean,
): CheckedCog {
  const checked = new Map<IndexName, CogPieceData[]>();
  try {
    const specs = wanted ? cogPiecesOf(grid, strip.top, strip.rows) : [];
    for (const tile of result.tiles) {
      if (tile.cog.length !== specs.length) {
        throw new TesseraError(`${tile.index}: ${tile.cog.length} COG pieces where the strip owes ${specs.length}`);
      }
      if (!wanted) continue;
      const pieces = tile.cog.map((piece, i): CogPieceData => {
        const spec = specs[i]!;
        const where = `${tile.index} COG piece ${i} (level ${spec.level}, tile ${spec.tileColumn},${spec.tileRow})`;
        const data = piece.deflate;
        const most = maxPieceBytes(pieceBytes(spec));
        if (data.length < SYNC_FLUSH_MARKER.length + 1 || data.length > most) throw new TesseraError(`${where}: ${data.length} bytes, expected 5 to ${most}`);
        if ((data[0]! & 1) !== 0) throw new TesseraError(`${where}: its first DEFLATE block is marked final, so nothing could follow it`);
        if (!Buffer.from(data.subarray(data.length - SYNC_FLUSH_MARKER.length)).equals(SYNC_FLUSH_MARKER)) {
          throw new TesseraError(`${where}: does not end in a sync flush (00 00 FF FF)`);
        }
        return { spec, deflate: data, adler32: piece.adler32 >>> 0 };
      });
      checked.set(tile.index as IndexName, pieces);
    }
  } catch (error) {
    throw new RejectedResultError(`strip ${strip.index}: ${describeError(error)}`, { cause: error });
  }
  return checked;
}
