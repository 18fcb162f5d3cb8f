/**
 * Little-endian classic TIFF image file directories, serialised: the entries sorted by tag, values of
 * more than 4 bytes right after the directory (each on a 2-byte boundary), and the offset of the next
 * directory. Only what the COG writer needs: SHORT, LONG, DOUBLE and ASCII values.
 */
import { TesseraError } from '../../shared/errors.js';

export const TIFF_SHORT = 3;
export const TIFF_LONG = 4;
export const TIFF_DOUBLE = 12;
export const TIFF_ASCII = 2;

const TYPE_BYTES: Readonly<Record<number, number>> = { [TIFF_SHORT]: 2, [TIFF_LONG]: 4, [TIFF_DOUBLE]: 8, [TIFF_ASCII]: 1 };

export interface IfdEntry {
  readonly tag: number;
  readonly type: number;
  /** Numbers for SHORT, LONG and DOUBLE; the text (a NUL is appended) for ASCII. */
  readonly values: readonly number[] | string;
}

function countOf(entry: IfdEntry): number {
  return typeof entry.values === 'string' ? Buffer.byteLength(entry.values, 'latin1') + 1 : entry.values.length;
}

function valueBytes(entry: IfdEntry): number {
  return countOf(entry) * (TYPE_BYTES[entry.type] ?? 0);
}

const even = (n: number): number => n + (n % 2);

/** Bytes the directory and its out-of-line values take (a function of the entries' counts, not their values). */
export function ifdLength(entries: readonly IfdEntry[]): number {
  let length = 2 + 12 * entries.length + 4;
  for (const entry of entries) if (valueBytes(entry) > 4) length = even(length) + valueBytes(entry);
  return even(length);
}

function writeValues(target: Buffer, at: number, entry: IfdEntry): void {
  if (typeof entry.values === 'string') {
    target.write(entry.values, at, 'latin1');
    target[at + countOf(entry) - 1] = 0;
    return;
  }
  entry.values.forEach((value, i) => {
    if (entry.type === TIFF_SHORT) target.writeUInt16LE(value, at + 2 * i);
    else if (entry.type === TIFF_LONG) target.writeUInt32LE(value, at + 4 * i);
    else target.writeDoubleLE(value, at + 8 * i);
  });
}

/** The directory as it lies at file offset `position`, pointing at the next one at `next` (0: the last). */
export function encodeIfd(entries: readonly IfdEntry[], position: number, next: number): Buffer {
  const sorted = [...entries].sort((a, b) => a.tag - b.tag);
  for (const entry of sorted) {
    if (!(entry.type in TYPE_BYTES)) throw new TesseraError(`TIFF tag ${entry.tag}: type ${entry.type} is not written`);
  }
  const out = Buffer.alloc(ifdLength(sorted));
  out.writeUInt16LE(sorted.length, 0);
  let extra = 2 + 12 * sorted.length + 4;
  sorted.forEach((entry, i) => {
    const at = 2 + 12 * i;
    out.writeUInt16LE(entry.tag, at);
    out.writeUInt16LE(entry.type, at + 2);
    out.writeUInt32LE(countOf(entry), at + 4);
    if (valueBytes(entry) <= 4) {
      writeValues(out, at + 8, entry);
    } else {
      extra = even(extra);
      out.writeUInt32LE(position + extra, at + 8);
      writeValues(out, extra, entry);
      extra += valueBytes(entry);
    }
  });
  out.writeUInt32LE(next, 2 + 12 * sorted.length);
  return out;
}
