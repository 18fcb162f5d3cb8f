/**
 * PNG container basics (PNG spec, 3rd ed., §5 and §11.2.1): the signature, chunks (length, type, data,
 * CRC-32 over type + data) and IHDR. Reading checks every length and CRC but never looks inside IDAT.
 */
import { crc32, type Crc32 } from '../checksum.js';
import { TesseraError } from '../errors.js';
import type { GrowingBytes } from '../growing-bytes.js';

/** The 8 bytes every PNG starts with. */
export const PNG_SIGNATURE: Buffer = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Largest chunk data length the format allows (2^31 − 1). */
export const MAX_CHUNK_LENGTH = 0x7fff_ffff;

/** Bytes of a chunk around its data: length (4), type (4), CRC (4). */
const CHUNK_OVERHEAD = 12;

/** The bytes are not a well-formed PNG container (signature, chunk framing, CRC, IHDR fields). */
export class PngFormatError extends TesseraError {}

/** One chunk as read: `data` is a view into the PNG's buffer, not a copy. */
export interface PngChunk {
  readonly type: string;
  readonly data: Buffer;
  /** Byte offset of the chunk's length field in the PNG. */
  readonly offset: number;
}

/** IHDR fields tessera reads and writes (compression and filter method are always 0). */
export interface PngHeader {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: number;
  /** 0 grey, 2 RGB, 3 indexed, 4 grey + alpha, 6 RGBA. */
  readonly colourType: number;
  /** 0 none, 1 Adam7. */
  readonly interlace: number;
}

/** CRC-32 of a chunk's type and data, as stored after the data (`crc`: what computes it). */
export function chunkCrc(type: string, data: Uint8Array, crc: Crc32 = crc32): number {
  return crc(data, crc(chunkType(type))) >>> 0;
}

/**
 * A chunk as parts (length + type, the data as given: one array or several in a row, CRC), so large
 * data can be written without copying it. `crc` computes the CRC (node:zlib's unless told). Throws a
 * RangeError for a malformed type or data longer than the format allows.
 */
export function chunkParts(type: string, data: Uint8Array | readonly Uint8Array[], crc: Crc32 = crc32): Uint8Array[] {
  const pieces = data instanceof Uint8Array ? [data] : data;
  const length = pieces.reduce((sum, piece) => sum + piece.length, 0);
  if (length > MAX_CHUNK_LENGTH) throw new RangeError(`PNG chunk ${type}: ${length} bytes is too long`);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(length, 0);
  chunkType(type).copy(head, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(pieces.reduce((sum, piece) => crc(piece, sum), crc(chunkType(type))) >>> 0, 0);
  return [head, ...pieces, tail];
}

/**
 * Starts a chunk in `out` whose data is written straight after it (its length is filled in by
 * endChunk); returns where the chunk starts.
 */
export function beginChunk(out: GrowingBytes, type: string): number {
  const at = out.length;
  const head = out.room(8);
  head.writeUInt32BE(0, 0);
  chunkType(type).copy(head, 4);
  out.commit(8);
  return at;
}

/**
 * Ends the chunk begun at `at`: its data is everything written since; fills in the length and
 * appends the CRC (`crc` computes it, node:zlib's unless told). A RangeError for data the format
 * cannot hold.
 */
export function endChunk(out: GrowingBytes, at: number, crc: Crc32 = crc32): void {
  const dataStart = at + 8;
  const length = out.length - dataStart;
  if (length > MAX_CHUNK_LENGTH) throw new RangeError(`PNG chunk: ${length} bytes is too long`);
  const written = out.bytes();
  written.writeUInt32BE(length, at);
  const value = crc(written.subarray(dataStart), crc(written.subarray(at + 4, dataStart))) >>> 0;
  out.room(4).writeUInt32BE(value, 0);
  out.commit(4);
}

/** A whole chunk in one buffer: length, type, data, CRC. */
export function encodeChunk(type: string, data: Uint8Array): Buffer {
  return Buffer.concat(chunkParts(type, data));
}

/**
 * The chunks of a PNG, up to and including IEND. Throws PngFormatError for a wrong signature, a chunk
 * running past the end, a bad CRC, a malformed type, a missing IEND or bytes after it. `crc`
 * checks the chunks (node:zlib's unless told).
 */
export function readChunks(png: Buffer, crc: Crc32 = crc32): PngChunk[] {
  if (png.length < PNG_SIGNATURE.length || !png.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE)) {
    throw new PngFormatError('not a PNG (the file does not start with the PNG signature)');
  }
  const chunks: PngChunk[] = [];
  let offset = PNG_SIGNATURE.length;
  while (offset < png.length) {
    const chunk = readChunkAt(png, offset, crc);
    chunks.push(chunk);
    offset += CHUNK_OVERHEAD + chunk.data.length;
    if (chunk.type === 'IEND') {
      if (offset !== png.length) {
        throw new PngFormatError(`${png.length - offset} unexpected bytes after the IEND chunk`);
      }
      return chunks;
    }
  }
  throw new PngFormatError(`truncated PNG: ${png.length} bytes end before the IEND chunk`);
}

function readChunkAt(png: Buffer, offset: number, crc: Crc32): PngChunk {
  if (offset + CHUNK_OVERHEAD > png.length) {
    throw new PngFormatError(`truncated PNG: ${png.length} bytes end inside a chunk header at byte ${offset}`);
  }
  const length = png.readUInt32BE(offset);
  const type = png.toString('latin1', offset + 4, offset + 8);
  if (!/^[A-Za-z]{4}$/.test(type)) {
    const bytes = png.toString('hex', offset + 4, offset + 8);
    throw new PngFormatError(`malformed chunk type at byte ${offset + 4} (bytes ${bytes})`);
  }
  const end = offset + 8 + length;
  if (length > MAX_CHUNK_LENGTH || end + 4 > png.length) {
    const left = Math.max(0, png.length - offset - CHUNK_OVERHEAD);
    throw new PngFormatError(
      `truncated PNG: chunk ${type} at byte ${offset} claims ${length} bytes, the file has ${left} left`,
    );
  }
  const data = png.subarray(offset + 8, end);
  const stored = png.readUInt32BE(end);
  const actual = chunkCrc(type, data, crc);
  if (stored !== actual) {
    throw new PngFormatError(
      `chunk ${type} at byte ${offset}: CRC mismatch (stored ${hex32(stored)}, computed ${hex32(actual)})`,
    );
  }
  return { type, data, offset };
}

/** IHDR data (13 bytes) for the header; throws a RangeError for a size the format cannot hold. */
export function encodeIhdr(header: PngHeader): Buffer {
  for (const [name, value] of [['width', header.width], ['height', header.height]] as const) {
    if (!Number.isInteger(value) || value < 1 || value > MAX_CHUNK_LENGTH) {
      throw new RangeError(`PNG ${name} ${value} must be an integer in 1..2^31-1`);
    }
  }
  const data = Buffer.alloc(13);
  data.writeUInt32BE(header.width, 0);
  data.writeUInt32BE(header.height, 4);
  data[8] = header.bitDepth;
  data[9] = header.colourType;
  data[10] = 0; // compression method: deflate
  data[11] = 0; // filter method: adaptive, five filter types
  data[12] = header.interlace;
  return data;
}

/** Fields of an IHDR chunk's data; throws PngFormatError for a wrong length, zero size or unknown method. */
export function decodeIhdr(data: Uint8Array): PngHeader {
  if (data.length !== 13) throw new PngFormatError(`IHDR has ${data.length} bytes, expected 13`);
  const view = Buffer.from(data.buffer, data.byteOffset, data.length);
  const header: PngHeader = {
    width: view.readUInt32BE(0),
    height: view.readUInt32BE(4),
    bitDepth: view[8]!,
    colourType: view[9]!,
    interlace: view[12]!,
  };
  if (header.width === 0 || header.height === 0) {
    throw new PngFormatError(`IHDR gives an empty image (${header.width}×${header.height})`);
  }
  if (view[10] !== 0) throw new PngFormatError(`IHDR compression method ${view[10]} is not 0 (deflate)`);
  if (view[11] !== 0) throw new PngFormatError(`IHDR filter method ${view[11]} is not 0`);
  return header;
}

function chunkType(type: string): Buffer {
  if (!/^[A-Za-z]{4}$/.test(type)) {
    throw new RangeError(`PNG chunk type ${JSON.stringify(type)} must be 4 ASCII letters`);
  }
  return Buffer.from(type, 'latin1');
}

function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}
