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
