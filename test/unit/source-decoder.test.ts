import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import { crc32 } from '../../shared/checksum.js';
import type { EncodedBlock__Output, SourceWindow__Output } from '../../shared/proto/tile-service.js';
import { SourceWindowError, decodeSourceWindow } from '../../shared/raster/source-decoder.js';
import type { SampleType } from '../../shared/types.js';
import { prng } from '../support/prng.js';
import { storedBlocks } from '../support/stored-blocks.js';
import { writeGeoTiff, type GeoTiffWriterOptions } from '../support/tiff-writer.js';

const WIDTH = 45;
const HEIGHT = 37;

interface Window {
  readonly x0: number;
  readonly y0: number;
  readonly width: number;
  readonly height: number;
}

/** A file of `count` random samples, and an encoded SourceWindow carrying the stored blocks covering `window`. */
async function encodedWindow(options: Partial<GeoTiffWriterOptions> & { sampleType: SampleType }, count: number, window: Window, seed = 1) {
  const rand = prng(seed);
  const max = options.sampleType === 'uint8' ? 255 : 60000;
  const samples = Array.from({ length: count }, () => Array.from({ length: WIDTH * HEIGHT }, () => 1 + Math.floor(rand() * max)));
  const file = writeGeoTiff({ width: WIDTH, height: HEIGHT, samples, crs: { epsg: 32632 }, origin: { x: 0, y: 0 }, pixelSize: 10, compression: 8, predictor: 2, ...options });
  const layout = await storedBlocks(file);
  const blocks: EncodedBlock__Output[] = layout.blocks
    .filter((b) => b.column * layout.blockWidth < window.x0 + window.width && (b.column + 1) * layout.blockWidth > window.x0)
    .filter((b) => b.row * layout.blockHeight < window.y0 + window.height && (b.row + 1) * layout.blockHeight > window.y0)
    .map((b) => ({ column: b.column, row: b.row, sample: b.plane, data: Buffer.from(b.data), checksum: crc32(b.data) }));
  const source: SourceWindow__Output = {
    ...window,
    sampleType: options.sampleType,
    data: 'encoded',
    encoded: {
      compression: options.compression ?? 8,
      predictor: options.predictor ?? 2,
      blockWidth: layout.blockWidth,
      blockHeight: layout.blockHeight,
      samplesPerPixel: count,
      planarConfiguration: layout.planarConfiguration,
      bitsPerSample: samples.map(() => (options.sampleType === 'uint8' ? 8 : 16)),
      littleEndian: true,
      blocks,
    },
  };
  const expected = (sample: number): number[] => {
    const out: number[] = [];
    for (let y = window.y0; y < window.y0 + window.height; y++) {
      for (let x = window.x0; x < window.x0 + window.width; x++) out.push(samples[sample]![y * WIDTH + x]!);
    }
    return out;
  };
  return { source, expected };
}

describe('decodeSourceWindow with native block decoding', () => {
  it('a striped window reaching the short last strip (37 rows in strips of 5)', async () => {
    const window = { x0: 3, y0: 28, width: 40, height: 9 };
    const { source, expected } = await encodedWindow({ sampleType: 'uint16', rowsPerStrip: 5 }, 1, window);
    assert.equal(source.encoded!.blocks.length, 3, 'strips 5, 6 and the 2-row strip 7');
    const decoded = await decodeSourceWindow(source);
    assert.deepEqual([...decoded.get(0)!], expected(0));
  });

  it('a window across 3×3 tiles, chunky and planar, 1 and 3 samples: blocks decode ahead yet land in place', async () => {
    const window = { x0: 5, y0: 7, width: 38, height: 29 };
    for (const [count, planar] of [[1, 1], [3, 1], [3, 2]] as const) {
      for (const sampleType of ['uint8', 'uint16'] as const) {
        const { source, expected } = await encodedWindow({ sampleType, tileSize: 16, planarConfiguration: planar }, count, window, count * planar);
        assert.equal(source.encoded!.blocks.length, planar === 2 ? 27 : 9);
        const decoded = await decodeSourceWindow(source, { samples: count === 1 ? [0] : [0, 2] });
        for (const sample of decoded.keys()) assert.deepEqual([...decoded.get(sample)!], expected(sample), `${count} samples, planar ${planar}, ${sampleType}, sample ${sample}`);
      }
    }
  });

  it('sparse blocks between decoded ones are filled', async () => {
    const window = { x0: 0, y0: 0, width: WIDTH, height: HEIGHT };
    const { source, expected } = await encodedWindow({ sampleType: 'uint16', tileSize: 16 }, 1, window);
    const sparse = source.encoded!.blocks.find((b) => b.column === 1 && b.row === 1)!;
    sparse.data = Buffer.alloc(0);
    sparse.checksum = crc32(sparse.data);
    const values = (await decodeSourceWindow(source, { sparseFill: new Map([[0, 7]]) })).get(0)!;
    const want = expected(0);
    for (let y = 0; y < HEIGHT; y++) {
      for (let x = 0; x < WIDTH; x++) {
        const inSparse = x >= 16 && x < 32 && y >= 16 && y < 32;
        assert.equal(values[y * WIDTH + x], inSparse ? 7 : want[y * WIDTH + x], `pixel (${x}, ${y})`);
      }
    }
  });

  it('a block that decodes short names the block and both sizes; a later failing block fails the window', async () => {
    const window = { x0: 0, y0: 0, width: WIDTH, height: HEIGHT };
    const { source } = await encodedWindow({ sampleType: 'uint16', tileSize: 16 }, 1, window);
    const short = source.encoded!.blocks.find((b) => b.column === 2 && b.row === 1)!;
    short.data = deflateSync(Buffer.alloc(100));
    short.checksum = crc32(short.data);
    await assert.rejects(decodeSourceWindow(source), (error: unknown) => {
      assert.ok(error instanceof SourceWindowError);
      assert.match(error.message, /cannot decode block \(2, 1\) sample 0: block 16×16 .*decompressed to 100 bytes, expected 512/);
      return true;
    });
    // Blocks decoding ahead of a failure settle without an unhandled rejection, and the first failure is reported.
    for (const b of source.encoded!.blocks.filter((b) => b.row === 2)) {
      b.data = Buffer.from('garbage');
      b.checksum = crc32(b.data);
    }
    await assert.rejects(decodeSourceWindow(source), /block \(2, 1\)/);
  });

  it('an unknown compression fails clearly', async () => {
    const { source } = await encodedWindow({ sampleType: 'uint16', tileSize: 16 }, 1, { x0: 0, y0: 0, width: 10, height: 10 });
    source.encoded!.compression = 4242;
    await assert.rejects(decodeSourceWindow(source), /cannot decode block \(0, 0\) sample 0: .*compression 4242 is not supported/);
  });
});
