/**
 * Joins single-image GeoTIFFs written by tiff-writer.ts into one cloud-optimized-style file with
 * internal overviews: every IFD (full resolution first, then the overviews, NewSubfileType = 1 and
 * no georeferencing of their own, as GDAL writes them) at the start of the file, then the blocks,
 * smallest overview first and full resolution last. Handles the classic little-endian TIFFs
 * tiff-writer produces (ASCII, SHORT, LONG and DOUBLE tags).
 */
import { ASCII, LONG, SHORT, TYPE_SIZE, even, ifdSize, writeHeader, writeIfd, type Entry } from './tiff-entries.js';


/** Tags an overview IFD leaves out: the georeferencing lives on the full-resolution image. */
const GEO_TAGS = new Set([33550, 33922, 34264, 34735, 34736, 34737]);
const NEW_SUBFILE_TYPE = 254;
const OFFSET_TAGS = new Set([273, 324]);
const COUNT_TAGS = new Set([279, 325]);


interface ParsedTiff {
  readonly entries: Entry[];
  readonly blocks: Buffer[];
}

/**
 * One file from `levels`: levels[0] the full-resolution image, the rest its overviews (each a
 * complete single-image TIFF from writeGeoTiff, same bands and sample type, smaller size).
 */
export function writeCog(levels: readonly Uint8Array[]): Buffer {
  if (levels.length === 0) throw new Error('writeCog: no levels');
  const parsed = levels.map((bytes, i) => {
    const tiff = parseTiff(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    if (i === 0) return tiff;
    const entries = tiff.entries.filter((e) => !GEO_TAGS.has(e.tag) && e.tag !== NEW_SUBFILE_TYPE);
    entries.push({ tag: NEW_SUBFILE_TYPE, type: LONG, values: [1] });
    return { entries: entries.sort((a, b) => a.tag - b.tag), blocks: tiff.blocks };
  });

  // IFDs and their out-of-line values first; sizes do not depend on the offsets written into them.
  let cursor = 8;
  const ifdOffsets: number[] = [];
  for (const tiff of parsed) {
    ifdOffsets.push(cursor);
    cursor += ifdSize(tiff.entries);
  }
  // Block data: smallest overview first, full resolution last.
  const blockOffsets: number[][] = parsed.map(() => []);
  for (let level = parsed.length - 1; level >= 0; level--) {
    blockOffsets[level] = parsed[level]!.blocks.map((block) => {
      const offset = block.length === 0 ? 0 : cursor;
      cursor += even(block.length);
      return offset;
    });
  }

  const out = Buffer.alloc(cursor);
  writeHeader(out, ifdOffsets[0]!);
  parsed.forEach((tiff, level) => {
    const entries = tiff.entries.map((entry): Entry => {
      if (OFFSET_TAGS.has(entry.tag)) return { tag: entry.tag, type: LONG, values: blockOffsets[level]! };
      if (COUNT_TAGS.has(entry.tag)) return { tag: entry.tag, type: LONG, values: tiff.blocks.map((b) => b.length) };
      return entry;
    });
    writeIfd(out, ifdOffsets[level]!, entries, level + 1 < parsed.length ? ifdOffsets[level + 1]! : 0);
    tiff.blocks.forEach((block, i) => block.copy(out, blockOffsets[level]![i]!));
  });
  return out;
}

/** The first IFD of a classic little-endian TIFF and the blocks it points to. */
function parseTiff(bytes: Buffer): ParsedTiff {
  if (bytes.toString('latin1', 0, 2) !== 'II' || bytes.readUInt16LE(2) !== 42) throw new Error('writeCog: levels must be classic little-endian TIFFs');
  const ifd = bytes.readUInt32LE(4);
  const count = bytes.readUInt16LE(ifd);
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const at = ifd + 2 + i * 12;
    const tag = bytes.readUInt16LE(at);
    const type = bytes.readUInt16LE(at + 2);
    const n = bytes.readUInt32LE(at + 4);
    const size = TYPE_SIZE[type];
    if (size === undefined) throw new Error(`writeCog: tag ${tag} has unsupported type ${type}`);
    const start = n * size <= 4 ? at + 8 : bytes.readUInt32LE(at + 8);
    if (type === ASCII) {
      entries.push({ tag, type, values: bytes.toString('latin1', start, start + n) });
      continue;
    }
    const values: number[] = [];
    for (let k = 0; k < n; k++) {
      const p = start + k * size;
      values.push(type === SHORT ? bytes.readUInt16LE(p) : type === LONG ? bytes.readUInt32LE(p) : bytes.readDoubleLE(p));
    }
    entries.push({ tag, type, values });
  }
  const offsets = entries.find((e) => OFFSET_TAGS.has(e.tag))?.values;
  const counts = entries.find((e) => COUNT_TAGS.has(e.tag))?.values;
  if (!Array.isArray(offsets) || !Array.isArray(counts) || offsets.length !== counts.length) throw new Error('writeCog: no block offsets / byte counts');
  const blocks = offsets.map((offset: number, i: number) => Buffer.from(bytes.subarray(offset, offset + counts[i]!)));
  return { entries, blocks };
}



