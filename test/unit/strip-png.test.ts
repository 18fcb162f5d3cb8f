import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';

import sharp from 'sharp';

import { GrowingBytes } from '../../shared/growing-bytes.js';
import { adler32 } from '../../shared/png/adler32.js';
import { encodeChunk, encodeIhdr, PNG_SIGNATURE, readChunks } from '../../shared/png/png-chunks.js';
import { filterRows, ROW_FILTERS } from '../../shared/png/scanline-filter.js';
import { encodeStripPng, InvalidStripError, parseStripPng } from '../../shared/png/strip-png.js';
import { FINAL_EMPTY_BLOCK, SYNC_FLUSH_MARKER, zlibHeader, zlibTrailer } from '../../shared/png/zlib-framing.js';
import { codeImage, decodeGrey, pngcheck, pngcheckMissing, rebuildPng } from '../support/png-tools.js';
import { prng } from '../support/prng.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-strip-png-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A strip PNG framed like encodeStripPng's but from filtered bytes the test chose (e.g. a forbidden filter). */
function framedStrip(filtered: Buffer, width: number, rows: number): Buffer {
  const deflate = deflateRawSync(filtered, { level: 1, finishFlush: constants.Z_SYNC_FLUSH });
  const idat = Buffer.concat([zlibHeader(1), deflate, zlibTrailer(adler32(filtered))]);
  const ihdr = encodeIhdr({ width, height: rows, bitDepth: 8, colourType: 0, interlace: 0 });
  return Buffer.concat([PNG_SIGNATURE, encodeChunk('IHDR', ihdr), encodeChunk('IDAT', idat), encodeChunk('IEND', Buffer.alloc(0))]);
}

const expected64 = { width: 64, rows: 64 };

async function strip64(): Promise<Buffer> {
  return encodeStripPng(codeImage(prng(5), 64, 64), 64, 64);
}

describe('encodeStripPng', () => {
  it('makes a standalone grey PNG that decodes to exactly the codes, with every filter choice', async () => {
    const rand = prng(1);
    for (const [width, rows] of [[1, 1], [1, 9], [97, 1], [300, 41]] as const) {
      const codes = codeImage(rand, width, rows);
      for (const filter of [undefined, ...ROW_FILTERS]) {
        const png = await encodeStripPng(codes, width, rows, filter ? { filter } : {});
        const decoded = await decodeGrey(png);
        assert.deepEqual([decoded.width, decoded.height, decoded.channels], [width, rows, 1]);
        assert.ok(decoded.codes.equals(codes), `${width}×${rows} ${filter ?? 'default'}: codes differ`);
      }
    }
  });

  it('is accepted by pngcheck', async (t) => {
    const missing = pngcheckMissing();
    if (missing) return t.skip(`pngcheck check skipped: ${missing}`);
    const path = join(dir, 'strip.png');
    await writeFile(path, await encodeStripPng(codeImage(prng(2), 333, 17), 333, 17));
    const verdict = pngcheck(path);
    assert.ok(verdict.ok, verdict.output);
  });

  it('ends its zlib stream with a sync flush, an empty final block and the Adler-32 of the filtered rows', async () => {
    const codes = codeImage(prng(3), 120, 30);
    const png = await encodeStripPng(codes, 120, 30);
    const idats = readChunks(png).filter((c) => c.type === 'IDAT');
    assert.deepEqual([idats[0]!.data.length, idats[2]!.data.length, idats.length], [2, 6, 3], 'zlib header, rows and stream end in chunks of their own');
    const idat = Buffer.concat(idats.map((c) => c.data));
    const filtered = filterRows(codes, 120, 30, 'average');
    assert.ok(idat.subarray(-10, -6).equals(SYNC_FLUSH_MARKER));
    assert.ok(idat.subarray(-6, -4).equals(FINAL_EMPTY_BLOCK));
    assert.equal(idat.readUInt32BE(idat.length - 4), adler32(filtered));
    assert.equal(filtered[0], 1, 'the first row of the default (Average) uses Sub');
    assert.equal(filtered[121], 3, 'later rows use Average');
  });

  it('built in memory reused strip after strip (larger, smaller, larger again): each PNG the same bytes as one built afresh', async () => {
    const output = new GrowingBytes(16);
    const rand = prng(5);
    for (const [width, rows] of [[300, 41], [1000, 60], [17, 3], [1000, 61]] as const) {
      const codes = codeImage(rand, width, rows);
      const fresh = await encodeStripPng(codes, width, rows);
      const reused = await encodeStripPng(codes, width, rows, { output });
      assert.ok(reused.equals(fresh), `${width}×${rows}`);
      assert.equal(reused.buffer, output.bytes().buffer, 'a view of the reused memory');
    }
  });

  it('refuses codes that do not fill the strip', async () => {
    await assert.rejects(encodeStripPng(new Uint8Array(10), 4, 3), RangeError);
    await assert.rejects(encodeStripPng(new Uint8Array(0), 0, 3), RangeError);
  });
});

describe('parseStripPng', () => {
  it('returns the raw deflate bytes, the Adler-32 and the filtered length; they inflate to the filtered rows', async () => {
    const codes = codeImage(prng(4), 64, 64);
    const strip = parseStripPng(await encodeStripPng(codes, 64, 64), expected64);
    const filtered = filterRows(codes, 64, 64, 'average');
    assert.equal(strip.filteredLength, 64 * 65);
    assert.equal(strip.adler32, adler32(filtered));
    assert.ok(strip.deflate.subarray(-4).equals(SYNC_FLUSH_MARKER));
    assert.ok(inflateRawSync(Buffer.concat([strip.deflate, FINAL_EMPTY_BLOCK])).equals(filtered));
  });

  it('hands back the rows\' IDAT chunk as stored, for the stitcher to copy with its CRC', async () => {
    const png = await strip64();
    const strip = parseStripPng(png, expected64);
    const rows = readChunks(png).filter((c) => c.type === 'IDAT')[1]!;
    assert.ok(strip.chunk, 'the three-chunk layout gives the chunk');
    assert.ok(strip.chunk.equals(png.subarray(rows.offset, rows.offset + rows.data.length + 12)));
    assert.ok(strip.chunk.subarray(8, -4).equals(strip.deflate));
  });

  it('accepts the zlib stream split over several IDAT chunks, and ancillary chunks it ignores', async () => {
    const png = await strip64();
    const whole = parseStripPng(png, expected64);
    const stream = Buffer.concat(readChunks(png).filter((c) => c.type === 'IDAT').map((c) => c.data));
    const split = rebuildPng(png, (chunks) =>
      chunks.flatMap((c, i): { type: string; data: Uint8Array }[] =>
        c.type !== 'IDAT'
          ? [c]
          : chunks[i - 1]?.type === 'IDAT'
            ? []
            : [
                { type: 'IDAT', data: stream.subarray(0, 1) },
                { type: 'IDAT', data: stream.subarray(1, 100) },
                { type: 'IDAT', data: stream.subarray(100, stream.length - 3) },
                { type: 'IDAT', data: stream.subarray(stream.length - 3) },
              ],
      ),
    );
    const withText = rebuildPng(split, (chunks) => [chunks[0]!, { type: 'tEXt', data: Buffer.from('Software\0test') }, ...chunks.slice(1)]);
    for (const variant of [split, withText]) {
      const parsed = parseStripPng(variant, expected64);
      assert.ok(parsed.deflate.equals(whole.deflate));
      assert.equal(parsed.adler32, whole.adler32);
      assert.equal(parsed.chunk, undefined, 'another split: the stitcher writes a chunk of its own');
    }
  });

  it('accepts a first row filtered with None', () => {
    const codes = codeImage(prng(6), 64, 64);
    const filtered = filterRows(codes, 64, 64, 'none');
    assert.equal(parseStripPng(framedStrip(filtered, 64, 64), expected64).filteredLength, 64 * 65);
  });

  describe('refuses, with a message that says why,', () => {
    const refuses = (png: Buffer, message: RegExp, expected = expected64): void => {
      assert.throws(() => parseStripPng(png, expected), (error: unknown) => {
        assert.ok(error instanceof InvalidStripError, `an InvalidStripError, got ${String(error)}`);
        assert.match(error.message, message);
        return true;
      });
    };

    it('a strip of the wrong size', async () => {
      refuses(await encodeStripPng(new Uint8Array(25).fill(9), 5, 5), /^strip is a 5×5 PNG, expected 64×64$/);
      refuses(await encodeStripPng(new Uint8Array(71 * 67).fill(9), 71, 67), /^strip is a 71×67 PNG, expected 64×64$/);
    });

    it('an RGB, a 16-bit, an indexed and an interlaced PNG', async () => {
      const grey = Buffer.alloc(64 * 64, 100);
      const rgb = await sharp(Buffer.alloc(64 * 64 * 3, 100), { raw: { width: 64, height: 64, channels: 3 } }).png().toBuffer();
      refuses(rgb, /colour type 2 \(RGB\), expected 0 \(greyscale\)/);
      const deep = await sharp(grey, { raw: { width: 64, height: 64, channels: 1 } }).toColourspace('grey16').png().toBuffer();
      refuses(deep, /bit depth 16, expected 8/);
      const indexed = await sharp(Buffer.alloc(64 * 64 * 3, 100), { raw: { width: 64, height: 64, channels: 3 } }).png({ palette: true }).toBuffer();
      refuses(indexed, /colour type 3 \(indexed\)/);
      const interlaced = await sharp(grey, { raw: { width: 64, height: 64, channels: 1 } }).toColourspace('b-w').png({ progressive: true }).toBuffer();
      refuses(interlaced, /interlaced/);
    });

    it('a grey PNG compressed as a whole image (made by sharp): no sync-flush tail', async () => {
      const png = await sharp(Buffer.from(codeImage(prng(7), 64, 64)), { raw: { width: 64, height: 64, channels: 1 } })
        .toColourspace('b-w')
        .png()
        .toBuffer();
      refuses(png, /does not end with a sync flush \(00 00 FF FF\) and an empty final block \(03 00\).*not as a stitchable strip/);
    });

    it('a first row filtered with Up (it would read the previous strip once stitched)', () => {
      const codes = codeImage(prng(8), 64, 64);
      const filtered = filterRows(codes, 64, 64, 'up');
      filtered[0] = 2; // Up against the zero row above a lone image: valid standalone, wrong once stitched
      filtered.set(codes.subarray(0, 64), 1);
      refuses(framedStrip(filtered, 64, 64), /first row uses filter type 2 \(Up\).*must use None \(0\) or Sub \(1\)/);
    });

    it('a truncated file, a bad CRC and something that is not a PNG', async () => {
      const png = await strip64();
      refuses(png.subarray(0, png.length - 20), /^strip is not a valid PNG: truncated PNG/);
      const corrupt = Buffer.from(png);
      corrupt[60]! ^= 0x40; // inside IDAT
      refuses(corrupt, /^strip is not a valid PNG: chunk IDAT at byte 47: CRC mismatch/); // the rows' chunk follows the 2-byte header's
      refuses(Buffer.from('GIF89a, definitely not a PNG'), /not a PNG \(the file does not start with the PNG signature\)/);
    });

    it('a bad zlib header: not deflate, a preset dictionary, wrong check bits', async () => {
      const png = await strip64();
      const withHeader = (cmf: number, flg: number): Buffer =>
        rebuildPng(png, (chunks) =>
          chunks.map((c) => (c.type === 'IDAT' ? { type: 'IDAT', data: Buffer.concat([Buffer.from([cmf, flg]), c.data.subarray(2)]) } : c)),
        );
      refuses(withHeader(0x79, 0x01 + 31 - ((0x79 * 256 + 0x01) % 31)), /compression method 9 is not 8/);
      refuses(withHeader(0x78, 0x20 + 31 - ((0x78 * 256 + 0x20) % 31)), /preset dictionary/);
      refuses(withHeader(0x78, 0x02), /header check bits are wrong \(bytes 78 02\)/);
    });

    it('chunks a grey strip must not have, IDATs split by another chunk, no IDAT at all', async () => {
      const png = await strip64();
      const insert = (type: string): Buffer =>
        rebuildPng(png, (chunks) => [chunks[0]!, { type, data: Buffer.alloc(3) }, ...chunks.slice(1)]);
      refuses(insert('PLTE'), /has chunk PLTE at byte 33, which a grey strip must not have/);
      refuses(insert('tRNS'), /has chunk tRNS/);
      refuses(insert('ABCD'), /has chunk ABCD/);
      const splitByText = rebuildPng(png, (chunks) =>
        chunks.flatMap((c) =>
          c.type === 'IDAT'
            ? [{ type: 'IDAT', data: c.data.subarray(0, 10) }, { type: 'tEXt', data: Buffer.from('a\0b') }, { type: 'IDAT', data: c.data.subarray(10) }]
            : [c],
        ),
      );
      refuses(splitByText, /IDAT chunks separated by other chunks/);
      refuses(rebuildPng(png, (chunks) => chunks.filter((c) => c.type !== 'IDAT')), /no IDAT chunk/);
    });

    it('compressed rows that are corrupt at the start', async () => {
      const png = await strip64();
      const garbage = rebuildPng(png, (chunks) =>
        chunks.map((c) => {
          if (c.type !== 'IDAT') return c;
          const data = Buffer.from(c.data);
          data[2] = 0xff; // BTYPE = 11: a reserved block type
          return { type: 'IDAT', data };
        }),
      );
      refuses(garbage, /compressed rows are corrupt at the start/);
    });

    it('compressed rows that hold nothing (just the sync flush)', () => {
      const ihdr = encodeIhdr({ width: 64, height: 64, bitDepth: 8, colourType: 0, interlace: 0 });
      const idat = Buffer.concat([zlibHeader(1), SYNC_FLUSH_MARKER, zlibTrailer(1)]);
      const png = Buffer.concat([PNG_SIGNATURE, encodeChunk('IHDR', ihdr), encodeChunk('IDAT', idat), encodeChunk('IEND', Buffer.alloc(0))]);
      refuses(png, /compressed rows yield no byte from their first 4 bytes/);
    });
  });
});
