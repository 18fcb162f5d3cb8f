/**
 * What the master accepts as a strip's COG pieces (master/cog-result-check.ts), and that the pieces a
 * worker cuts (worker/cog-pieces.ts) inflate to the strip's codes, decimated and padded as the geometry
 * says, and pass that check.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { constants, inflateRawSync } from 'node:zlib';
import { checkCogResult } from '../../master/cog-result-check.js';
import { RejectedResultError } from '../../master/dispatch/tile-dispatcher.js';
import { cogPiecesOf } from '../../shared/cog/cog-geometry.js';
import { adler32 } from '../../shared/png/adler32.js';
import type { CogPiece__Output, SubmitResultRequest__Output } from '../../shared/proto/tile-service.js';
import { encodeCogPieces } from '../../worker/cog-pieces.js';

const GRID = { width: 700, height: 600 };
const STRIP = { index: 1, top: 256, rows: 256 };

function codesOf(width: number, rows: number, top: number): Uint8Array {
  const codes = new Uint8Array(width * rows);
  for (let y = 0; y < rows; y++) for (let x = 0; x < width; x++) codes[y * width + x] = 1 + ((x + 3 * (y + top)) % 250);
  return codes;
}

const result = (cog: CogPiece__Output[]): SubmitResultRequest__Output => ({
  workerId: 'w',
  taskId: 't',
  attempt: 1,
  tiles: [{ index: 'ndvi', png: Buffer.alloc(0), stats: null, preview: Buffer.alloc(0), cog, pngInFile: false, pngSize: 0 }],
  timings: null,
  error: '',
});

describe('COG pieces', () => {
  test('a worker\'s pieces inflate to the strip\'s codes (decimated at overviews, 0 past the edges) and pass the check', async () => {
    const codes = codesOf(GRID.width, STRIP.rows, STRIP.top);
    const pieces = await encodeCogPieces({ codes, width: GRID.width, rows: STRIP.rows, top: STRIP.top, gridHeight: GRID.height });
    const specs = cogPiecesOf(GRID, STRIP.top, STRIP.rows);
    assert.equal(pieces.length, specs.length);
    specs.forEach((spec, i) => {
      const raw = inflateRawSync(pieces[i]!.deflate as Buffer, { finishFlush: constants.Z_SYNC_FLUSH });
      assert.equal(raw.length, spec.rows * 512);
      assert.equal(pieces[i]!.adler32, adler32(raw));
      const step = 2 ** spec.level;
      for (let r = 0; r < spec.rows; r++) {
        for (let c = 0; c < 512; c++) {
          const y = (spec.tileRow * 512 + spec.firstRow + r) * step;
          const x = (spec.tileColumn * 512 + c) * step;
          const expected = x < GRID.width && y < GRID.height ? codes[(y - STRIP.top) * GRID.width + x] : 0;
          if (raw[r * 512 + c] !== expected) assert.fail(`piece ${i} row ${r} column ${c}: ${raw[r * 512 + c]} instead of ${expected}`);
        }
      }
    });
    const checked = checkCogResult(result(pieces.map((p) => ({ deflate: p.deflate as Buffer, adler32: p.adler32 ?? 0 }))), STRIP, GRID, true);
    assert.equal(checked.get('ndvi')?.length, specs.length);
  });

  test('refused: too few pieces, pieces where no COG was asked for, a final block, no sync flush, too many bytes', async () => {
    const codes = codesOf(GRID.width, STRIP.rows, STRIP.top);
    const good = (await encodeCogPieces({ codes, width: GRID.width, rows: STRIP.rows, top: STRIP.top, gridHeight: GRID.height })).map((p) => ({ deflate: p.deflate as Buffer, adler32: p.adler32 ?? 0 }));
    const refused = (pieces: CogPiece__Output[], wanted: boolean, message: RegExp): void => {
      assert.throws(() => checkCogResult(result(pieces), STRIP, GRID, wanted), (error: unknown) => error instanceof RejectedResultError && message.test(error.message));
    };
    refused(good.slice(1), true, /^strip 1: ndvi: 2 COG pieces where the strip owes 3$/);
    refused(good, false, /^strip 1: ndvi: 3 COG pieces where the strip owes 0$/);
    const final = Buffer.from(good[0]!.deflate);
    final[0]! |= 1;
    refused([{ ...good[0]!, deflate: final }, ...good.slice(1)], true, /COG piece 0 \(level 0, tile 0,0\): its first DEFLATE block is marked final/);
    refused([{ ...good[0]!, deflate: good[0]!.deflate.subarray(0, -1) }, ...good.slice(1)], true, /does not end in a sync flush/);
    refused([{ ...good[0]!, deflate: Buffer.concat([Buffer.alloc(300_000), good[0]!.deflate]) }, ...good.slice(1)], true, /COG piece 0 .*: 30\d+ bytes, expected 5 to \d+/);
    assert.equal(checkCogResult(result([]), STRIP, GRID, false).size, 0);
  });
});
