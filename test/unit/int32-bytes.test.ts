/** BandSampling's maps as bytes: the numbers come back as they went, from any offset; a ragged length is refused. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytesInt32, int32Bytes } from '../../shared/proto/int32-bytes.js';

test('int32s survive the trip through little-endian bytes', () => {
  const values = Int32Array.from([-1, 0, 1, 10979, -2147483648, 2147483647]);
  const bytes = int32Bytes(values);
  assert.equal(bytes.length, values.length * 4);
  assert.deepEqual([...bytes.subarray(0, 8)], [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0], 'little-endian, as the proto says');
  assert.deepEqual(bytesInt32(bytes), values);
});

test('bytes at an offset that is not a multiple of 4 (as in a decoded message) still read back', () => {
  const message = new Uint8Array(1 + 12);
  message.set(int32Bytes(Int32Array.from([7, -1, 300])), 1);
  assert.deepEqual([...bytesInt32(message.subarray(1))], [7, -1, 300]);
  // protobufjs hands out Buffers, views into the message (often into Node's shared pool).
  const pooled = Buffer.concat([Buffer.from([9]), Buffer.from(int32Bytes(Int32Array.from([5, -7])))]);
  assert.deepEqual([...bytesInt32(pooled.subarray(1))], [5, -7]);
});

test('a length that is not a whole number of int32s is a RangeError that says so', () => {
  assert.throws(() => bytesInt32(new Uint8Array(6)), { name: 'RangeError', message: '6 bytes are not a whole number of int32s' });
  assert.deepEqual(bytesInt32(new Uint8Array(0)), new Int32Array(0));
});
