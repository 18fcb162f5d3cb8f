/**
 * What a file that should be a GeoTIFF starts with, said so a user knows what they gave: nothing
 * (an empty file), a JPEG or PNG, a web page, some text — or a TIFF header, which is fine.
 */

const SIGNATURES: ReadonlyArray<{ readonly bytes: readonly number[]; readonly kind: string }> = [
  { bytes: [0xff, 0xd8, 0xff], kind: 'a JPEG image' },
  { bytes: [0x89, 0x50, 0x4e, 0x47], kind: 'a PNG image' },
  { bytes: [0x47, 0x49, 0x46, 0x38], kind: 'a GIF image' },
  { bytes: [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20], kind: 'a JPEG 2000 image' },
  { bytes: [0xff, 0x4f, 0xff, 0x51], kind: 'a JPEG 2000 codestream' },
  { bytes: [0x25, 0x50, 0x44, 0x46], kind: 'a PDF document' },
  { bytes: [0x50, 0x4b, 0x03, 0x04], kind: 'a ZIP archive (a .SAFE product or .zip must be unpacked first)' },
  { bytes: [0x1f, 0x8b], kind: 'a gzip file (unpack it first)' },
  { bytes: [0x89, 0x48, 0x44, 0x46], kind: 'an HDF5 / NetCDF-4 file' },
];

/** Whether `head` (the first bytes of a file) starts like a TIFF or BigTIFF. */
export function isTiffHeader(head: Uint8Array): boolean {
  if (head.length < 4) return false;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const order = String.fromCharCode(head[0]!, head[1]!);
  const version = order === 'II' ? view.getUint16(2, true) : order === 'MM' ? view.getUint16(2, false) : 0;
  return version === 42 || version === 43;
}

/**
 * Why `head` (the first bytes, 16 are plenty) is not a TIFF, in words; undefined when it is one.
 * `size` is the whole file's length when known (0 says "empty").
 */
export function notTiffReason(head: Uint8Array, size?: number): string | undefined {
  if (isTiffHeader(head)) return undefined;
  if (head.length === 0) return size === 0 || size === undefined ? 'the file is empty (0 bytes)' : 'the file starts with nothing readable';
  const known = SIGNATURES.find(({ bytes }) => bytes.every((byte, i) => head[i] === byte));
  if (known) return `not a TIFF file: it is ${known.kind}; tessera reads GeoTIFFs (convert it with gdal_translate -of GTiff)`;
  const text = Buffer.from(head).toString('latin1');
  if (/^\s*<(!doctype html|html|\?xml|head|body)/i.test(text)) return 'not a TIFF file: it is an HTML or XML page, not a GeoTIFF';
  if (/^[\x09\x0a\x0d\x20-\x7e]+$/.test(text)) return `not a TIFF file: it is text (it starts with ${JSON.stringify(text.slice(0, 16))})`;
  const hex = [...head.subarray(0, 8)].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
  return `not a TIFF file (it starts with the bytes ${hex}, not a TIFF header "II*" or "MM*")`;
}
