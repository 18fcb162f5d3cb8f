/** TIFF directory entries as the test writers (tiff-writer, cog-writer) lay them out: little-endian, classic TIFF. */

export const ASCII = 2;
export const SHORT = 3;
export const LONG = 4;
export const DOUBLE = 12;
export const TYPE_SIZE: Readonly<Record<number, number>> = { [ASCII]: 1, [SHORT]: 2, [LONG]: 4, [DOUBLE]: 8 };

export interface Entry {
  readonly tag: number;
  readonly type: number;
  readonly values: readonly number[] | string;
}

/** Bytes an entry's values take. */
export function valueSize(entry: Entry): number {
  const count = typeof entry.values === 'string' ? Buffer.byteLength(entry.values, 'latin1') : entry.values.length;
  return count * TYPE_SIZE[entry.type]!;
}

export function writeValues(out: Buffer, at: number, entry: Entry): void {
  if (typeof entry.values === 'string') {
    out.write(entry.values, at, 'latin1');
    return;
  }
  entry.values.forEach((value, i) => {
    if (entry.type === SHORT) out.writeUInt16LE(value, at + i * 2);
    else if (entry.type === LONG) out.writeUInt32LE(value, at + i * 4);
    else out.writeDoubleLE(value, at + i * 8);
  });
}

/** TIFF offsets are word-aligned. */
export function even(n: number): number {
  return n + (n & 1);
}

/** Bytes one IFD takes with its out-of-line values (which writeIfd puts right after the entries). */
export function ifdSize(entries: readonly Entry[]): number {
  let size = 2 + entries.length * 12 + 4;
  for (const entry of entries) {
    const bytes = valueSize(entry);
    if (bytes > 4) size += even(bytes);
  }
  return size;
}

/**
 * Writes one IFD at `at` (entries sorted by tag), its out-of-line values right after it, and `next`
 * (the next IFD's offset, 0 for the last) as its link. Takes exactly ifdSize(entries) bytes.
 */
export function writeIfd(out: Buffer, at: number, entries: readonly Entry[], next: number): void {
  out.writeUInt16LE(entries.length, at);
  let overflow = at + 2 + entries.length * 12 + 4;
  entries.forEach((entry, i) => {
    const slot = at + 2 + i * 12;
    const size = valueSize(entry);
    out.writeUInt16LE(entry.tag, slot);
    out.writeUInt16LE(entry.type, slot + 2);
    out.writeUInt32LE(typeof entry.values === 'string' ? Buffer.byteLength(entry.values, 'latin1') : entry.values.length, slot + 4);
    if (size <= 4) {
      writeValues(out, slot + 8, entry);
    } else {
      out.writeUInt32LE(overflow, slot + 8);
      writeValues(out, overflow, entry);
      overflow += even(size);
    }
  });
  out.writeUInt32LE(next, at + 2 + entries.length * 12);
}

/** The 8-byte classic little-endian TIFF header pointing at the first IFD. */
export function writeHeader(out: Buffer, firstIfd: number): void {
  out.write('II', 0, 'latin1');
  out.writeUInt16LE(42, 2);
  out.writeUInt32LE(firstIfd, 4);
}
