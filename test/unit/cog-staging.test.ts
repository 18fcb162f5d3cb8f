/**
 * The master's side of a COG (master/output/cog-staging.ts): the file depends only on the pieces,
 * not on the order they arrive in, nor on pieces staged and then dropped (a banned worker's strip
 * computed again); a tile whose pieces never all arrived is an error naming it; the TIFF opens in
 * geotiff.js with the codes the pieces were cut from.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fromArrayBuffer } from 'geotiff';
import { CogStaging, type CogPieceData } from '../../master/output/cog-staging.js';
import { cogPiecesOf } from '../../shared/cog/cog-geometry.js';
import { encodeCogPieces } from '../../worker/cog-pieces.js';

const GRID = { originX: 500_000, originY: 5_000_000, pixelWidth: 10, pixelHeight: 10, width: 600, height: 530, epsg: 32633 };
const ROWS = [200, 200, 130];
const WKT = 'PROJCS["WGS 84 / UTM zone 33N"]';

function codes(): Uint8Array {
  const out = new Uint8Array(GRID.width * GRID.height);
  for (let i = 0; i < out.length; i++) out[i] = 1 + ((i * 7) % 251);
  return out;
}

async function stripPieces(all: Uint8Array): Promise<CogPieceData[][]> {
  let top = 0;
  const strips: CogPieceData[][] = [];
  for (const rows of ROWS) {
    const slice = all.subarray(top * GRID.width, (top + rows) * GRID.width);
    const encoded = await encodeCogPieces({ codes: slice, width: GRID.width, rows, top, gridHeight: GRID.height });
    const specs = cogPiecesOf(GRID, top, rows);
    strips.push(encoded.map((piece, i) => ({ spec: specs[i]!, deflate: piece.deflate as Buffer, adler32: piece.adler32 ?? 0 })));
    top += rows;
  }
  return strips;
}

describe('COG staging', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-cog-staging-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('any arrival order, and a strip dropped and staged again, give the same bytes; they read back as the codes', async () => {
    const all = codes();
    const strips = await stripPieces(all);
    const inOrder = new CogStaging(join(dir, 'a.pieces'), GRID);
    for (const [i, pieces] of strips.entries()) await inOrder.add(i, pieces);
    await inOrder.finish(join(dir, 'a.tif'), GRID, WKT);
    await inOrder.discard();

    const shuffled = new CogStaging(join(dir, 'b.pieces'), GRID);
    await shuffled.add(2, strips[2]!);
    // A wrong answer for strip 0 (the pieces of strip 1 under its number would not even fit): staged, then dropped.
    await shuffled.add(0, strips[0]!.map((piece) => ({ ...piece, deflate: Buffer.from(strips[1]![0]!.deflate) })));
    shuffled.drop(new Set([0]));
    await shuffled.add(1, strips[1]!);
    await shuffled.add(0, strips[0]!);
    await shuffled.finish(join(dir, 'b.tif'), GRID, WKT);
    await shuffled.discard();

    const [a, b] = await Promise.all([readFile(join(dir, 'a.tif')), readFile(join(dir, 'b.tif'))]);
    assert.ok(a.equals(b), 'the two COGs differ');
    const tiff = await fromArrayBuffer(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
    const image = await tiff.getImage(0);
    assert.deepEqual(image.getOrigin(), [GRID.originX, GRID.originY, 0]);
    const [pixels] = (await image.readRasters({ interleave: false })) as unknown as [Uint8Array];
    assert.ok(Buffer.from(pixels).equals(Buffer.from(all)), 'full resolution differs from the codes');
    assert.equal(await tiff.getImageCount(), 2);
  });

  test('a tile without all its pieces is an error naming it', async () => {
    const strips = await stripPieces(codes());
    const staging = new CogStaging(join(dir, 'c.pieces'), GRID);
    await staging.add(0, strips[0]!);
    await staging.add(2, strips[2]!);
    await assert.rejects(staging.finish(join(dir, 'c.tif'), GRID, WKT), /^TesseraError: COG level 0 tile 0: its pieces cover rows 0\.\.200 of 512 \(a strip never arrived\?\)$/);
    await staging.discard();
  });
});
