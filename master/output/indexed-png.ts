/**
 * A small whole PNG from codes and a palette: indexed colour (type 3), the index's ramp as PLTE +
 * tRNS (code 0 transparent), rows filtered and DEFLATEd as the workers' strips are (Average in
 * WebAssembly; level 1 of node:zlib with Z_RLE, or of ISA-L, the master's choice: master-codecs.ts). One byte per pixel instead of RGBA's four: a 1825² web preview
 * encodes in about a tenth of the time sharp takes for its RGBA, which matters because the master
 * writes it. Against the Up filter at level 6 it used before, the full scene's previews came out
 * 2.7-3.5 % smaller for about 60 ms less CPU each (2026-12-02).
 */
import { GrowingBytes } from '../../shared/growing-bytes.js';
import { PNG_SIGNATURE, beginChunk, encodeChunk, encodeIhdr, endChunk } from '../../shared/png/png-chunks.js';
import { deflatedRoom, ZlibStripDeflater, type StripDeflater } from '../../shared/png/strip-deflater.js';
import { averageFiltered } from '../../shared/png/strip-png.js';
import { paletteChunks } from './png-stitcher.js';

/**
 * `codes` (width × height, row-major) as an indexed PNG whose palette is `rgba` (256 × RGBA), its
 * rows compressed by `deflater` (node:zlib's unless told) into one IDAT chunk.
 */
export async function encodeIndexedPng(codes: Uint8Array, width: number, height: number, rgba: Uint8Array, deflater: StripDeflater = new ZlibStripDeflater()): Promise<Buffer> {
  const filtered = averageFiltered(codes, width, height, undefined);
  const out = new GrowingBytes(deflatedRoom(filtered.length) + 2048); // + signature, IHDR, PLTE, tRNS, IEND
  out.append(PNG_SIGNATURE);
  out.append(encodeChunk('IHDR', encodeIhdr({ width, height, bitDepth: 8, colourType: 3, interlace: 0 })));
  for (const chunk of paletteChunks(rgba)) out.append(chunk);
  const idat = beginChunk(out, 'IDAT');
  out.append(deflater.zlibHeader);
  out.append(await deflater.deflateRows(filtered, out));
  endChunk(out, idat, deflater.crc32);
  out.append(encodeChunk('IEND', new Uint8Array(0)));
  return out.bytes();
}
