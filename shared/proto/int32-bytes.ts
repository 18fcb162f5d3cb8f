/**
 * Int32 arrays as protobuf `bytes` (little-endian, as BandSampling's maps travel): one copy instead of
 * protobufjs encoding and decoding every number of a `repeated int32` by itself.
 */
import { endianness } from 'node:os';

const LITTLE_ENDIAN = endianness() === 'LE';

/** `values` as little-endian bytes: a view of the same memory on a little-endian machine. */
export function int32Bytes(values: Int32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((value, i) => view.setInt32(i * 4, value, true));
  return bytes;
}

/**
 * Little-endian bytes back as an Int32Array of its own (copied: a decoded message's bytes may start
 * at any offset, and an Int32Array must start on a multiple of 4). A RangeError when the length is
 * not a whole number of int32s.
 */
export function bytesInt32(bytes: Uint8Array): Int32Array {
  if (bytes.length % 4 !== 0) throw new RangeError(`${bytes.length} bytes are not a whole number of int32s`);
  // new Uint8Array(bytes) copies into a buffer of its own (a Buffer's slice() would not: it is a view).
  if (LITTLE_ENDIAN) return new Int32Array(new Uint8Array(bytes).buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Int32Array.from({ length: bytes.length / 4 }, (_, i) => view.getInt32(i * 4, true));
}
