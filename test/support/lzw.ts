/**
 * TIFF LZW compression (as libtiff writes it: codes MSB-first, 9 to 12 bits, "early change", a Clear
 * code first and whenever the table fills), for tests of the decoders that fall back to geotiff.
 */
const CLEAR = 256;
const EOI = 257;
const FIRST = 258;
/** libtiff resets the table when the next free code would be 4094. */
const TABLE_FULL = 4094;

export function lzwCompress(input: Uint8Array): Buffer {
  const out: number[] = [];
  let bitBuffer = 0;
  let bitCount = 0;
  let width = 9;
  const put = (code: number): void => {
    bitBuffer = (bitBuffer << width) | code;
    bitCount += width;
    while (bitCount >= 8) {
      bitCount -= 8;
      out.push((bitBuffer >>> bitCount) & 0xff);
    }
    bitBuffer &= (1 << bitCount) - 1;
  };

  let table = new Map<number, number>(); // (prefix code << 8 | byte) → code
  let next = FIRST;
  /** Counts one more table entry (the decoder adds one per code it reads) and widens or clears. */
  const grow = (): void => {
    next++;
    if (next === TABLE_FULL) {
      put(CLEAR);
      table = new Map();
      next = FIRST;
      width = 9;
    } else if (next >= 1 << width) {
      width++;
    }
  };

  put(CLEAR);
  if (input.length > 0) {
    let prefix = input[0]!;
    for (let i = 1; i < input.length; i++) {
      const byte = input[i]!;
      const key = (prefix << 8) | byte;
      const known = table.get(key);
      if (known !== undefined) {
        prefix = known;
        continue;
      }
      put(prefix);
      table.set(key, next);
      grow();
      prefix = byte;
    }
    put(prefix);
    grow();
  }
  put(EOI);
  if (bitCount > 0) out.push((bitBuffer << (8 - bitCount)) & 0xff);
  return Buffer.from(out);
}
