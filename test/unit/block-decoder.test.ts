import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deflateSync, inflateSync } from 'node:zlib';
import { getDecoder } from 'geotiff';
import {
  CorruptBlockError,
  FallbackDecoders,
  TruncatedBlockError,
  UnsupportedBlockError,
  decodeBlock,
  type BlockFormat,
} from '../../shared/raster/block-decoder.js';
import { LibdeflateInflater, ZlibInflater, type BlockInflater } from '../../shared/raster/block-inflater.js';
import type { SampleType } from '../../shared/types.js';
import { loadLibdeflate } from '../support/native-libraries.js';
import { lzwCompress } from '../support/lzw.js';
import { prng } from '../support/prng.js';
import { storedBlocks } from '../support/stored-blocks.js';
import { writeGeoTiff } from '../support/tiff-writer.js';

type Typed = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

interface TypeCase {
  readonly type: SampleType;
  readonly bits: 8 | 16 | 32 | 64;
  readonly format: 1 | 2 | 3;
  readonly make: (values: readonly number[]) => Typed;
  readonly random: (rand: () => number) => number;
}

const SPECIAL_FLOATS = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, 5e-324, -1e-40];
const float = (scale: number) => (rand: () => number) =>
  rand() < 0.05 ? SPECIAL_FLOATS[Math.floor(rand() * SPECIAL_FLOATS.length)]! : (rand() - 0.5) * scale;

const TYPES: readonly TypeCase[] = [
  { type: 'uint8', bits: 8, format: 1, make: (v) => Uint8Array.from(v), random: (r) => Math.floor(r() * 256) },
  { type: 'int8', bits: 8, format: 2, make: (v) => Int8Array.from(v), random: (r) => Math.floor(r() * 256) - 128 },
  { type: 'uint16', bits: 16, format: 1, make: (v) => Uint16Array.from(v), random: (r) => Math.floor(r() * 65536) },
  { type: 'int16', bits: 16, format: 2, make: (v) => Int16Array.from(v), random: (r) => Math.floor(r() * 65536) - 32768 },
  { type: 'uint32', bits: 32, format: 1, make: (v) => Uint32Array.from(v), random: (r) => Math.floor(r() * 2 ** 32) },
  { type: 'int32', bits: 32, format: 2, make: (v) => Int32Array.from(v), random: (r) => Math.floor(r() * 2 ** 32) - 2 ** 31 },
  { type: 'float32', bits: 32, format: 3, make: (v) => Float32Array.from(v), random: float(1e6) },
  { type: 'float64', bits: 64, format: 3, make: (v) => Float64Array.from(v), random: float(1e300) },
];

const WIDTH = 45;
const HEIGHT = 37;
const TILE = 16;
/** 37 rows in strips of 5: the last strip holds 2. */
const ROWS_PER_STRIP = 5;

interface TestBlock {
  readonly column: number;
  readonly row: number;
  readonly plane: number;
  readonly data: Uint8Array;
  /** The format as the TIFF describes this block. */
  readonly format: BlockFormat;
  /** Block height as geotiff's decoder parameters take it (the tile height, or RowsPerStrip). */
  readonly blockHeight: number;
}

async function testBlocks(file: Buffer, predictor: number, compression: number, type: TypeCase): Promise<TestBlock[]> {
  const layout = await storedBlocks(file);
  assert.equal(layout.width, WIDTH);
  assert.equal(layout.height, HEIGHT);
  return layout.blocks.map((block) => ({
    ...block,
    blockHeight: layout.blockHeight,
    format: {
      compression,
      predictor,
      bitsPerSample: type.bits,
      sampleFormat: type.format,
      samplesPerPixel: layout.planarConfiguration === 2 ? 1 : layout.samplesPerPixel,
      width: layout.blockWidth,
      rows: block.rows,
      littleEndian: true,
    },
  }));
}

/** The block's samples as the writer laid them out (tiles padded with 0), in native byte order. */
function expectedBytes(samples: readonly number[][], block: TestBlock, type: TypeCase): Uint8Array {
  const { width, rows, samplesPerPixel } = block.format;
  const values: number[] = [];
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < width; x++) {
      for (let s = 0; s < samplesPerPixel; s++) {
        const gx = block.column * width + x;
        const gy = block.row * block.blockHeight + y;
        const source = samples[samplesPerPixel === 1 ? block.plane : s]!;
        values.push(gx < WIDTH && gy < HEIGHT ? source[gy * WIDTH + gx]! : 0);
      }
    }
  }
  const typed = type.make(values);
  return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
}

async function geotiffDecode(block: TestBlock, planarConfiguration: number, spp: number): Promise<Uint8Array> {
  const { compression, predictor, bitsPerSample, width } = block.format;
  const decoder = await getDecoder(compression, {
    tileWidth: width,
    tileHeight: block.blockHeight,
    predictor,
    bitsPerSample: Array.from({ length: spp }, () => bitsPerSample),
    planarConfiguration,
    samplesPerPixel: spp,
  });
  return new Uint8Array(await decoder.decode(new Uint8Array(block.data).buffer));
}

function randomSamples(type: TypeCase, count: number, seed: number): number[][] {
  const rand = prng(seed);
  return Array.from({ length: count }, () => Array.from({ length: WIDTH * HEIGHT }, () => type.random(rand)));
}

const libdeflate = await loadLibdeflate();
/** Both inflaters go through the same blocks and the same errors (block-inflater.test.ts compares them directly). */
const INFLATERS: ReadonlyArray<{ readonly name: string; readonly inflater: BlockInflater | undefined; readonly skip: string | false }> = [
  { name: 'node:zlib', inflater: new ZlibInflater(), skip: false },
  { name: 'libdeflate', inflater: libdeflate.library && new LibdeflateInflater(libdeflate.library), skip: libdeflate.skip },
];

for (const { name, inflater, skip } of INFLATERS) describe(`decodeBlock (${name}): every sample type, predictor and layout, against geotiff and the original samples`, { skip }, () => {
  let seed = 100;
  for (const type of TYPES) {
    for (const predictor of type.format === 3 ? [1, 3] : [1, 2]) {
      it(`${type.type}, predictor ${predictor}`, async () => {
        let checked = 0;
        for (const { spp, planar } of [{ spp: 1, planar: 1 }, { spp: 3, planar: 1 }, { spp: 3, planar: 2 }] as const) {
          const samples = randomSamples(type, spp, seed++);
          for (const layout of ['tiled', 'striped'] as const) {
            for (const compression of [8, 1] as const) {
              const file = writeGeoTiff({
                width: WIDTH,
                height: HEIGHT,
                sampleType: type.type,
                samples,
                planarConfiguration: planar,
                ...(layout === 'tiled' ? { tileSize: TILE } : { rowsPerStrip: ROWS_PER_STRIP }),
                compression,
                predictor: predictor as 1 | 2 | 3,
                crs: { epsg: 32632 },
                origin: { x: 0, y: 0 },
                pixelSize: 10,
              });
              const blocks = await testBlocks(file, predictor, compression, type);
              if (layout === 'striped') assert.equal(blocks.at(-1)!.format.rows, 2, 'the last strip is short');
              for (const block of blocks) {
                const where = `${spp} sample(s), planar ${planar}, ${layout}, compression ${compression}, block (${block.column}, ${block.row}) plane ${block.plane}`;
                const before = new Uint8Array(block.data);
                const decoded = new Uint8Array(await decodeBlock(block.data, block.format, undefined, { inflater: inflater! }));
                const expected = expectedBytes(samples, block, type);
                assert.equal(decoded.byteLength, expected.byteLength, where);
                assert.deepEqual(decoded, expected, `${where}: differs from the original samples`);
                const reference = await geotiffDecode(block, planar, spp);
                assert.deepEqual(decoded, reference.subarray(0, decoded.byteLength), `${where}: differs from geotiff`);
                assert.deepEqual(new Uint8Array(block.data), before, `${where}: the input was modified`);
                checked++;
              }
            }
          }
        }
        assert.ok(checked > 100, `only ${checked} blocks checked`);
      });
    }
  }
});

for (const { name, inflater: chosen, skip } of INFLATERS) describe(`decodeBlock (${name}): sizes`, { skip }, () => {
  const options = (): { inflater: BlockInflater } => ({ inflater: chosen! });
  const format: BlockFormat = { compression: 8, predictor: 2, bitsPerSample: 16, sampleFormat: 1, samplesPerPixel: 1, width: 32, rows: 8, littleEndian: true };
  const values = Uint16Array.from({ length: 32 * 8 }, (_, i) => (i * 37) % 5000);
  /** What predictor 2 stores: each value minus its left neighbour. */
  const differenced = Uint16Array.from(values, (v, i) => (i % 32 === 0 ? v : v - values[i - 1]!));
  const stored = Buffer.from(differenced.buffer);

  it('a block that inflates to fewer bytes than it needs is an error naming both sizes', async () => {
    await assert.rejects(decodeBlock(deflateSync(stored.subarray(0, 500)), format, undefined, options()), (error: unknown) => {
      assert.ok(error instanceof TruncatedBlockError);
      assert.equal(error.expectedBytes, 512);
      assert.equal(error.actualBytes, 500);
      assert.match(error.message, /block 32×8 .*decompressed to 500 bytes, expected 512/);
      return true;
    });
    await assert.rejects(decodeBlock(stored.subarray(0, 510), { ...format, compression: 1 }), /decompressed to 510 bytes, expected 512/);
  });

  it('a cut DEFLATE stream is a clear error', async () => {
    const cut = deflateSync(stored).subarray(0, 40);
    await assert.rejects(decodeBlock(cut, format, undefined, options()), (error: unknown) => {
      assert.ok(error instanceof CorruptBlockError);
      assert.match(error.message, /DEFLATE data cannot be inflated: unexpected end of file/);
      return true;
    });
    await assert.rejects(decodeBlock(Buffer.from('not deflate at all'), format, undefined, options()), /cannot be inflated: incorrect header check/);
  });

  it('padding after the samples is ignored; fewer rows than stored give the first rows', async () => {
    const padded = deflateSync(Buffer.concat([stored, Buffer.alloc(300, 7)]));
    const asUint16 = (bytes: Uint8Array): Uint16Array => new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
    const whole = await decodeBlock(padded, format, undefined, options());
    assert.equal(whole.byteLength, values.byteLength, 'exactly the samples, not the padding');
    assert.deepEqual(asUint16(whole), values);
    const top = asUint16(await decodeBlock(deflateSync(stored), { ...format, rows: 3 }, undefined, options()));
    assert.deepEqual(top, values.subarray(0, 32 * 3));
  });

  it('into: libdeflate inflates into the caller\'s memory, reused block after block; node:zlib into its own', async () => {
    const into = new Uint8Array(4096); // larger than the block and its slack (a pooled buffer often is)
    for (const [seed, predictor] of [[1, 2], [2, 1], [3, 2]] as const) {
      const block = Uint16Array.from({ length: 32 * 8 }, (_, i) => (i * 31 + seed * 977) % 65536);
      const data = deflateSync(Buffer.from((predictor === 2 ? Uint16Array.from(block, (v, i) => (i % 32 === 0 ? v : v - block[i - 1]!)) : block).buffer));
      const bytes = await decodeBlock(data, { ...format, predictor }, undefined, { ...options(), into });
      assert.deepEqual(new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2), block, `block ${seed}`);
      assert.equal(bytes.byteLength, 512);
      assert.equal(bytes.byteOffset, 0);
      assert.equal(bytes.buffer === into.buffer, name === 'libdeflate', `${name}: in the caller's memory only where the inflater writes in place`);
    }
    const small = new Uint8Array(100); // too small for the block: the inflater allocates
    const bytes = await decodeBlock(deflateSync(stored), format, undefined, { ...options(), into: small });
    assert.notEqual(bytes.buffer, small.buffer);
    assert.deepEqual(new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2), values);
  });

  it('rejects formats it does not handle, before looking at the data', async () => {
    const cases: Array<[Partial<BlockFormat>, RegExp]> = [
      [{ bitsPerSample: 12 }, /12 bits per sample/],
      [{ bitsPerSample: 64, predictor: 2 }, /predictor 2 supports 8, 16 and 32-bit/],
      [{ predictor: 3 }, /predictor 3 is for floating-point/],
      [{ sampleFormat: 3, bitsPerSample: 16, predictor: 1 }, /32 or 64 bits/],
      [{ predictor: 4 }, /unknown predictor 4/],
      [{ width: 0 }, /width must be a positive integer/],
      [{ rows: 1.5 }, /rows must be a positive integer/],
      [{ compression: 12345, predictor: 1 }, /compression 12345 is not supported/],
    ];
    for (const [change, message] of cases) {
      await assert.rejects(decodeBlock(deflateSync(stored), { ...format, ...change }, undefined, options()), (error: unknown) => {
        assert.ok(error instanceof UnsupportedBlockError, `${JSON.stringify(change)}: ${String(error)}`);
        assert.match(error.message, message);
        return true;
      });
    }
  });
});

describe('decodeBlock: other compressions go through geotiff, byte order', () => {
  /** A 16×16 tile of 3 samples, DEFLATE with the predictor, and its inflated (still predicted) bytes. */
  async function sampleTile(predictor: 2 | 3, type: TypeCase) {
    const samples = randomSamples(type, 3, 7);
    const file = writeGeoTiff({
      width: WIDTH, height: HEIGHT, sampleType: type.type, samples, tileSize: TILE, compression: 8, predictor,
      crs: { epsg: 32632 }, origin: { x: 0, y: 0 }, pixelSize: 10,
    });
    const block = (await testBlocks(file, predictor, 8, type))[4]!;
    return { block, samples, raw: inflateSync(block.data), expected: expectedBytes(samples, block, type) };
  }
  const uint16 = TYPES.find((t) => t.type === 'uint16')!;
  const float64 = TYPES.find((t) => t.type === 'float64')!;

  it('LZW (5) with predictor 2: same as geotiff and the original samples; one decoder per format', async () => {
    const { block, raw, expected } = await sampleTile(2, uint16);
    const lzw: TestBlock = { ...block, data: lzwCompress(raw), format: { ...block.format, compression: 5 } };
    const decoders = new FallbackDecoders();
    assert.deepEqual(new Uint8Array(await decodeBlock(lzw.data, lzw.format, decoders)), expected);
    assert.deepEqual(await geotiffDecode(lzw, 1, 3), expected);
    assert.equal(decoders.get(lzw.format), decoders.get({ ...lzw.format, predictor: 1 }), 'the decoder is reused');
    assert.notEqual(decoders.get(lzw.format), decoders.get({ ...lzw.format, rows: 8 }));
    await assert.rejects(decodeBlock(lzwCompress(raw.subarray(0, 100)), lzw.format, decoders), TruncatedBlockError);
  });

  it('PackBits (32773): literal runs decode through geotiff', async () => {
    const { block, raw, expected } = await sampleTile(2, uint16);
    const runs: Buffer[] = [];
    for (let i = 0; i < raw.length; i += 128) {
      const run = raw.subarray(i, i + 128);
      runs.push(Buffer.of(run.length - 1), run);
    }
    const decoded = await decodeBlock(Buffer.concat(runs), { ...block.format, compression: 32773 });
    assert.deepEqual(new Uint8Array(decoded), expected);
  });

  it('big-endian blocks are byte-swapped to native order (predictor 1 and 2); predictor 3 planes need no swap', async () => {
    const { block, raw, expected } = await sampleTile(2, uint16);
    const bigEndian = { ...block.format, littleEndian: false };
    const swapped = Buffer.from(raw).swap16();
    assert.deepEqual(new Uint8Array(await decodeBlock(deflateSync(swapped), bigEndian)), expected);
    assert.deepEqual(new Uint8Array(await decodeBlock(swapped, { ...bigEndian, compression: 1 })), expected);
    const undifferenced = new Uint8Array(await decodeBlock(raw, { ...block.format, compression: 1 }));
    const plain = Buffer.from(undifferenced).swap16();
    assert.deepEqual(new Uint8Array(await decodeBlock(plain, { ...bigEndian, compression: 1, predictor: 1 })), expected);

    const floats = await sampleTile(3, float64);
    assert.deepEqual(new Uint8Array(await decodeBlock(floats.block.data, { ...floats.block.format, littleEndian: false })), floats.expected);
  });
});
