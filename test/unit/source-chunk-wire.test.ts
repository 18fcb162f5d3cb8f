/** Hand-encoded SourceChunk messages read back by protobufjs exactly as the fields say. */
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { crc32 } from '../../shared/checksum.js';
import { chunkMessage, serializeSourceChunk } from '../../shared/proto/source-chunk-wire.js';
import { loadTesseraProto, type SourceChunk } from '../../shared/proto/tile-service.js';

const { ReadSources } = loadTesseraProto().tessera.v1.TileService.service;
const serialize = serializeSourceChunk<SourceChunk>(ReadSources.responseSerialize);

describe('chunkMessage', () => {
  for (const [source, part, last, zlibChecked, length] of [
    [0, 0, true, true, 0],
    [1, 2, false, false, 1],
    [127, 128, true, false, 300],
    [16_383, 16_384, false, true, 70_000],
    [4_000_000_000, 2 ** 31, true, false, 5],
  ] as const) {
    it(`source ${source}, part ${part}, last ${last}, zlib-checked ${zlibChecked}, ${length} bytes`, () => {
      const message = chunkMessage({ source, part, last, zlibChecked }, length);
      randomFillSync(message.data);
      const checksum = zlibChecked ? 0 : crc32(message.data);
      const chunk = message.seal(checksum);
      const decoded = ReadSources.responseDeserialize(serialize(chunk));
      assert.deepEqual({ ...decoded, data: Buffer.from(decoded.data) }, { source, part, data: Buffer.from(message.data), checksum, last, zlibChecked });
    });
  }

  it('a chunk made any other way goes through protobufjs', () => {
    const data = Buffer.from('plain');
    const plain: SourceChunk = { source: 3, part: 1, data, checksum: crc32(data), last: true };
    assert.deepEqual(serialize(plain), ReadSources.responseSerialize(plain));
  });
});
