import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import { crc32 } from '../../shared/checksum.js';
import type { BlockRef__Output, SourceChunk__Output, TileTask__Output } from '../../shared/proto/tile-service.js';
import type { SampleArray, SampleType } from '../../shared/types.js';
import { ScratchArrays } from '../../worker/scratch-arrays.js';
import { SourceAssembler, SourceDataError } from '../../worker/source-assembler.js';
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

/** Stored blocks as the master would list and send them: refs in the task, their bytes as chunks. */
interface SentBlock extends BlockRef__Output {
  data: Buffer;
}

/**
 * A file of `count` random samples, and a task with one encoded window over `window` carrying the
 * stored blocks covering it; `decode` assembles the blocks as sent (tests may change them first).
 */
async function encodedWindow(options: Partial<GeoTiffWriterOptions> & { sampleType: SampleType }, count: number, window: Window, seed = 1) {
  const rand = prng(seed);
  const max = options.sampleType === 'uint8' ? 255 : 60000;
  const samples = Array.from({ length: count }, () => Array.from({ length: WIDTH * HEIGHT }, () => 1 + Math.floor(rand() * max)));
  const file = writeGeoTiff({ width: WIDTH, height: HEIGHT, samples, crs: { epsg: 32632 }, origin: { x: 0, y: 0 }, pixelSize: 10, compression: 8, predictor: 2, ...options });
  const layout = await storedBlocks(file);
  const blocks: SentBlock[] = layout.blocks
    .filter((b) => b.column * layout.blockWidth < window.x0 + window.width && (b.column + 1) * layout.blockWidth > window.x0)
    .filter((b) => b.row * layout.blockHeight < window.y0 + window.height && (b.row + 1) * layout.blockHeight > window.y0)
    .map((b) => ({ column: b.column, row: b.row, sample: b.plane, byteCount: b.data.length, offset: 0, data: Buffer.from(b.data) }));
  const task = (wanted: readonly number[], compression: number): TileTask__Output => ({
    stripDeflate: '',
    previewStep: 0,
    previewFirstRow: 0,
    cog: null,
    expression: '',
    expressionMin: 0,
    expressionMax: 0,
    maskClasses: [],
    maskBand: '',
    resultFolder: '',
    resultToken: '',
    resultName: '',
    taskId: 'r/0',
    requestId: 'r',
    tileIndex: 0,
    attempt: 1,
    width: window.width,
    height: window.height,
    indices: ['ndvi'],
    reflectanceOffset: 0,
    leaseExpiresAtMs: 0,
    sourceBytes: 0,
    sources: [
      {
        ...window,
        sampleType: options.sampleType,
        layout: 'encoded',
        encoded: {
          compression,
          predictor: options.predictor ?? 2,
          blockWidth: layout.blockWidth,
          blockHeight: layout.blockHeight,
          samplesPerPixel: count,
          planarConfiguration: layout.planarConfiguration,
          bitsPerSample: samples.map(() => (options.sampleType === 'uint8' ? 8 : 16)),
          littleEndian: true,
          blocks: blocks.map(({ column, row, sample, byteCount }) => ({ column, row, sample, byteCount, offset: 0 })),
          direct: null,
          imageWidth: WIDTH,
          imageHeight: HEIGHT,
          sampleFormat: 1,
          tiled: layout.tiled,
        },
      },
    ],
    bands: wanted.map((sample) => ({ name: `s${sample}`, source: 0, sample, hasNodata: false, nodata: 0, columnMap: Buffer.alloc(0), rowMap: Buffer.alloc(0) })),
  });
  /** Assembles the blocks as sent; `compression` may claim another compression than the file's. */
  const decode = async (wanted: readonly number[] = [0], compression: number = options.compression ?? 8, scratch?: ScratchArrays): Promise<Map<number, SampleArray>> => {
    const assembler = new SourceAssembler(task(wanted, compression), scratch);
    for (const [part, block] of blocks.entries()) {
      if (block.byteCount === 0) continue;
      const chunk: SourceChunk__Output = { source: 0, part, data: block.data, checksum: crc32(block.data), last: true, zlibChecked: false };
      await assembler.accept(chunk);
    }
    const [arrays] = await assembler.finish();
    return arrays!;
  };
  const expected = (sample: number): number[] => {
    const out: number[] = [];
    for (let y = window.y0; y < window.y0 + window.height; y++) {
      for (let x = window.x0; x < window.x0 + window.width; x++) out.push(samples[sample]![y * WIDTH + x]!);
    }
    return out;
  };
  return { blocks, decode, expected };
}

describe('SourceAssembler with native block decoding', () => {
  it('a striped window reaching the short last strip (37 rows in strips of 5)', async () => {
    const window = { x0: 3, y0: 28, width: 40, height: 9 };
    const { blocks, decode, expected } = await encodedWindow({ sampleType: 'uint16', rowsPerStrip: 5 }, 1, window);
    assert.equal(blocks.length, 3, 'strips 5, 6 and the 2-row strip 7');
    assert.deepEqual([...(await decode()).get(0)!], expected(0));
  });

  it('a window across 3×3 tiles, chunky and planar, 1 and 3 samples: blocks decode ahead yet land in place', async () => {
    const window = { x0: 5, y0: 7, width: 38, height: 29 };
    for (const [count, planar] of [[1, 1], [3, 1], [3, 2]] as const) {
      for (const sampleType of ['uint8', 'uint16'] as const) {
        const { blocks, decode, expected } = await encodedWindow({ sampleType, tileSize: 16, planarConfiguration: planar }, count, window, count * planar);
        assert.equal(blocks.length, planar === 2 ? 27 : 9);
        const decoded = await decode(count === 1 ? [0] : [0, 2]);
        for (const sample of decoded.keys()) assert.deepEqual([...decoded.get(sample)!], expected(sample), `${count} samples, planar ${planar}, ${sampleType}, sample ${sample}`);
      }
    }
  });

  it('sparse blocks between decoded ones read as 0 (the master ships decoded data where no-data is not 0)', async () => {
    const window = { x0: 0, y0: 0, width: WIDTH, height: HEIGHT };
    const { blocks, decode, expected } = await encodedWindow({ sampleType: 'uint16', tileSize: 16 }, 1, window);
    const sparse = blocks.find((b) => b.column === 1 && b.row === 1)!;
    sparse.byteCount = 0;
    const values = (await decode()).get(0)!;
    const want = expected(0);
    for (let y = 0; y < HEIGHT; y++) {
      for (let x = 0; x < WIDTH; x++) {
        const inSparse = x >= 16 && x < 32 && y >= 16 && y < 32;
        assert.equal(values[y * WIDTH + x], inSparse ? 0 : want[y * WIDTH + x], `pixel (${x}, ${y})`);
      }
    }
  });

  it('reused scratch arrays full of an earlier strip\'s values: every stored block overwrites them, a sparse one still reads 0', async () => {
    const window = { x0: 0, y0: 0, width: WIDTH, height: HEIGHT };
    /** Scratch whose next uint16 window array holds 0xabcd everywhere (an earlier strip's leftovers). */
    const dirty = (): ScratchArrays => {
      const scratch = new ScratchArrays();
      scratch.take('uint16', WIDTH * HEIGHT).fill(0xabcd);
      scratch.releaseAll();
      return scratch;
    };
    const whole = await encodedWindow({ sampleType: 'uint16', tileSize: 16 }, 1, window);
    assert.deepEqual([...(await whole.decode([0], 8, dirty())).get(0)!], whole.expected(0), 'every block stored: the array is overwritten without being zeroed first');
    const holed = await encodedWindow({ sampleType: 'uint16', tileSize: 16 }, 1, window);
    holed.blocks.find((b) => b.column === 2 && b.row === 0)!.byteCount = 0;
    const values = (await holed.decode([0], 8, dirty())).get(0)!;
    for (let y = 0; y < 16; y++) {
      for (let x = 32; x < WIDTH; x++) assert.equal(values[y * WIDTH + x], 0, `pixel (${x}, ${y}) of the sparse block`);
    }
    assert.equal(values[20 * WIDTH + 3], holed.expected(0)[20 * WIDTH + 3]);
  });

  it('a block that decodes short names the block and both sizes; a later failing block fails the window', async () => {
    const window = { x0: 0, y0: 0, width: WIDTH, height: HEIGHT };
    const { blocks, decode } = await encodedWindow({ sampleType: 'uint16', tileSize: 16 }, 1, window);
    const short = blocks.find((b) => b.column === 2 && b.row === 1)!;
    short.data = deflateSync(Buffer.alloc(100));
    short.byteCount = short.data.length;
    await assert.rejects(decode(), (error: unknown) => {
      assert.ok(error instanceof SourceDataError);
      assert.match(error.message, /cannot decode block \(2, 1\) sample 0/);
      assert.match(String((error.cause as Error).message), /decompressed to 100 bytes, expected 512/);
      return true;
    });
    // Blocks decoding ahead of a failure settle without an unhandled rejection, and the first failure is reported.
    for (const b of blocks.filter((b) => b.row === 2)) {
      b.data = Buffer.from('garbage');
      b.byteCount = b.data.length;
    }
    await assert.rejects(decode(), /block \(2, 1\)/);
  });

  it('an unknown compression fails clearly', async () => {
    const { decode } = await encodedWindow({ sampleType: 'uint16', tileSize: 16 }, 1, { x0: 0, y0: 0, width: 10, height: 10 });
    await assert.rejects(decode([0], 4242), (error: unknown) => error instanceof SourceDataError && /cannot decode block \(0, 0\) sample 0/.test(error.message) && /compression 4242 is not supported/.test(String((error.cause as Error).message)));
  });
});
