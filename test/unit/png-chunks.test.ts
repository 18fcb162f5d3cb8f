import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  decodeIhdr,
  encodeChunk,
  encodeIhdr,
  PNG_SIGNATURE,
  PngFormatError,
  readChunks,
} from '../../shared/png/png-chunks.js';

const ihdr = { width: 300, height: 7, bitDepth: 8, colourType: 0, interlace: 0 };

function smallPng(): Buffer {
  return Buffer.concat([
    PNG_SIGNATURE,
    encodeChunk('IHDR', encodeIhdr(ihdr)),
    encodeChunk('tEXt', Buffer.from('Comment\0hello', 'latin1')),
    encodeChunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('PNG chunks', () => {
  it('writes the well-known IEND chunk byte for byte', () => {
    assert.equal(encodeChunk('IEND', Buffer.alloc(0)).toString('hex'), '0000000049454e44ae426082');
  });

  it('reads back what it writes: types, data views and offsets', () => {
    const png = smallPng();
    const chunks = readChunks(png);
    assert.deepEqual(chunks.map((c) => c.type), ['IHDR', 'tEXt', 'IEND']);
    assert.deepEqual(decodeIhdr(chunks[0]!.data), ihdr);
    assert.equal(chunks[1]!.data.toString('latin1'), 'Comment\0hello');
    assert.equal(chunks[0]!.offset, 8);
    assert.equal(chunks[1]!.offset, 8 + 12 + 13);
  });

  it('refuses a wrong signature, a bad CRC, a truncated file and bytes after IEND', () => {
    const png = smallPng();
    const notPng = Buffer.from(png);
    notPng[1] = 0x51;
    assert.throws(() => readChunks(notPng), { name: 'PngFormatError', message: /does not start with the PNG signature/ });
    const badCrc = Buffer.from(png);
    badCrc[8 + 8 + 2]! ^= 0x01; // a byte of IHDR's data
    assert.throws(() => readChunks(badCrc), { name: 'PngFormatError', message: /chunk IHDR at byte 8: CRC mismatch/ });
    for (const cut of [png.length - 1, png.length - 12, 40, 10, 8]) {
      assert.throws(() => readChunks(png.subarray(0, cut)), { name: 'PngFormatError', message: /truncated PNG/ }, `cut at ${cut}`);
    }
    assert.throws(() => readChunks(Buffer.concat([png, Buffer.from([0])])), /1 unexpected bytes after the IEND chunk/);
  });

  it('refuses a malformed IHDR', () => {
    assert.throws(() => decodeIhdr(Buffer.alloc(12)), { name: 'PngFormatError', message: /IHDR has 12 bytes, expected 13/ });
    const zeroWidth = encodeIhdr(ihdr);
    zeroWidth.writeUInt32BE(0, 0);
    assert.throws(() => decodeIhdr(zeroWidth), /empty image \(0×7\)/);
    const badMethod = encodeIhdr(ihdr);
    badMethod[10] = 1;
    assert.throws(() => decodeIhdr(badMethod), /compression method 1/);
    assert.throws(() => encodeIhdr({ ...ihdr, width: 0 }), RangeError);
  });

  it('names its error class', () => {
    assert.ok(new PngFormatError('x') instanceof Error);
    assert.equal(new PngFormatError('x').name, 'PngFormatError');
  });
});
