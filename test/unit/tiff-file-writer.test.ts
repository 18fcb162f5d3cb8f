import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GeoTiffFileWriter } from '../support/tiff-file-writer.js';
import { blockRows } from '../support/tiff-layout.js';
import { writeGeoTiff } from '../support/tiff-writer.js';

const W = 70;
const H = 41;
const values = Uint16Array.from({ length: W * H }, (_, i) => (i * 2654435761) % 4099);
const base = { width: W, height: H, sampleType: 'uint16', compression: 8, predictor: 2, crs: { epsg: 32633 }, origin: { x: 600000, y: 5300040 }, pixelSize: 10, nodata: 0 } as const;

/** One block's raw little-endian bytes, padded with 0 outside the image. */
function rawBlock(writer: GeoTiffFileWriter, column: number, row: number): Uint8Array {
  const { blockWidth, blockHeight } = writer.layout;
  const rows = blockRows(writer.layout, row);
  const block = new Uint16Array(blockWidth * rows);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < blockWidth; x++) {
      const gx = column * blockWidth + x;
      const gy = row * blockHeight + y;
      if (gx < W && gy < H) block[y * blockWidth + x] = values[gy * W + gx]!;
    }
  }
  return new Uint8Array(block.buffer);
}

describe('GeoTiffFileWriter', () => {
  const dirs: string[] = [];
  after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  for (const blocks of [{ tileSize: 32 }, { rowsPerStrip: 7 }] as const) {
    it(`writes the same bytes as writeGeoTiff, block by block (${JSON.stringify(blocks)})`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'tiff-file-writer-'));
      dirs.push(dir);
      const path = join(dir, 'out.tif');
      const writer = await GeoTiffFileWriter.create(path, { ...base, ...blocks });
      for (let row = 0; row < writer.layout.down; row++) {
        for (let column = 0; column < writer.layout.across; column++) await writer.writeRawBlock(rawBlock(writer, column, row));
      }
      const size = await writer.close();
      const written = await readFile(path);
      assert.equal(size, written.length);
      assert.deepEqual(written, writeGeoTiff({ ...base, ...blocks, samples: [values] }));
    });
  }

  it('refuses to close with blocks missing, and to take more blocks than the image has', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tiff-file-writer-'));
    dirs.push(dir);
    const writer = await GeoTiffFileWriter.create(join(dir, 'out.tif'), { ...base, tileSize: 64 });
    assert.equal(writer.layout.blockCount, 2);
    await writer.writeEncodedBlock(new Uint8Array(0));
    await assert.rejects(writer.close(), /has 1 of 2 blocks/);
    await writer.writeEncodedBlock(new Uint8Array(0));
    await assert.rejects(writer.writeEncodedBlock(new Uint8Array(0)), /already has all 2 blocks/);
    await writer.abort();
  });
});
