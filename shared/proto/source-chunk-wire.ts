/**
 * SourceChunk messages encoded by hand, so the master can read a block from its file straight into
 * the message it sends. protobufjs would copy every block once more into a message of its own (and
 * allocate it); on a full Sentinel-2 tile that is 570 MB of copies and garbage on the master, whose
 * share of the work is meant to be shipping bytes. Field order does not matter in protobuf, so the
 * small fields come first, then the data, then the checksum (known only once the data is read).
 *
 * `serializeSourceChunk` is the ReadSources response serializer: a chunk made here goes out as it is,
 * any other is encoded by protobufjs as usual.
 */

/** The encoded message of a chunk made by `chunkMessage`, and what gives its memory back once sent. */
const WIRE = Symbol('tessera.SourceChunk.wire');
const RELEASE = Symbol('tessera.SourceChunk.release');

/** Where chunk messages get their memory: a fresh buffer, or one reused from messages already sent. */
export interface MessageMemory {
  /** A buffer of at least `size` bytes. */
  take(size: number): Buffer;
  /** `buffer` (from `take`) is no longer in use. */
  give(buffer: Buffer): void;
}

export interface WireFields {
  readonly source: number;
  readonly part: number;
  readonly last: boolean;
  readonly zlibChecked: boolean;
}

/** A SourceChunk whose message is already encoded. */
export interface WireChunk extends WireFields {
  readonly data: Buffer;
  readonly checksum: number;
  readonly [WIRE]: Buffer;
  readonly [RELEASE]?: () => void;
}

/** A message under construction: read the chunk's bytes into `data`, then `seal` it. */
export interface ChunkMessage {
  readonly data: Buffer;
  seal(checksum: number): WireChunk;
}

const TAG = { source: 0x08, part: 0x10, data: 0x1a, checksum: 0x20, last: 0x28, zlibChecked: 0x30 } as const;
const MAX_VARINT32 = 5;

/**
 * Allocates the message of a chunk of `length` bytes (from `memory` when given); its `data` is where
 * the bytes go.
 */
export function chunkMessage(fields: WireFields, length: number, memory?: MessageMemory): ChunkMessage {
  const head = 1 + varintSize(fields.source) + 1 + varintSize(fields.part) + (fields.last ? 2 : 0) + (fields.zlibChecked ? 2 : 0) + 1 + varintSize(length);
  const size = head + length + 1 + MAX_VARINT32;
  const buffer = memory ? memory.take(size) : Buffer.allocUnsafe(size);
  const message = buffer.length === size ? buffer : buffer.subarray(0, size);
  let at = 0;
  message[at++] = TAG.source;
  at = writeVarint(message, at, fields.source);
  message[at++] = TAG.part;
  at = writeVarint(message, at, fields.part);
  if (fields.last) {
    message[at++] = TAG.last;
    message[at++] = 1;
  }
  if (fields.zlibChecked) {
    message[at++] = TAG.zlibChecked;
    message[at++] = 1;
  }
  message[at++] = TAG.data;
  at = writeVarint(message, at, length);
  const data = message.subarray(at, at + length);
  return {
    data,
    seal(checksum) {
      let end = at + length;
      if (checksum !== 0) {
        message[end++] = TAG.checksum;
        end = writeVarint(message, end, checksum >>> 0);
      }
      const release = memory ? { [RELEASE]: () => memory.give(buffer) } : {};
      return { ...fields, data, checksum: checksum >>> 0, [WIRE]: message.subarray(0, end), ...release };
    },
  };
}

/** ReadSources' response serializer: a WireChunk as it is, anything else through `encode`. */
export function serializeSourceChunk<T extends object>(encode: (value: T) => Buffer): (value: T) => Buffer {
  return (value) => (WIRE in value ? (value as unknown as WireChunk)[WIRE] : encode(value));
}

/**
 * Gives a sent chunk's memory back (grpc-js has copied the message into its frame by the time a
 * write's callback runs); a no-op for other chunks.
 */
export function releaseChunk(chunk: object): void {
  if (RELEASE in chunk) (chunk as WireChunk)[RELEASE]?.();
}

function varintSize(value: number): number {
  let size = 1;
  for (let v = value >>> 7; v !== 0; v >>>= 7) size++;
  return size;
}

function writeVarint(buffer: Buffer, at: number, value: number): number {
  let v = value >>> 0;
  while (v > 0x7f) {
    buffer[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buffer[at++] = v;
  return at;
}
