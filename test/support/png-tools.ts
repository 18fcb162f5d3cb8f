/**
 * Independent checks for PNGs in tests: pngcheck (if installed), Python's zlib over the IDAT stream,
 * sharp decoding, and rebuilding a PNG chunk by chunk to make broken variants.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';

import sharp from 'sharp';

import { encodeChunk, PNG_SIGNATURE, readChunks, type PngChunk } from '../../shared/png/png-chunks.js';

const PNGCHECK = '/usr/bin/pngcheck';
const PYTHON = '/usr/bin/python3';

/** Why pngcheck cannot be run here, or undefined when it can. */
export function pngcheckMissing(): string | undefined {
  const run = spawnSync(PNGCHECK, ['-h'], { encoding: 'utf8' });
  return run.error ? `${PNGCHECK} is not installed on this machine (${run.error.message})` : undefined;
}

/** pngcheck's verdict on files: ok when it exits 0; its output for the assertion message. */
export function pngcheck(...paths: string[]): { ok: boolean; output: string } {
  const run = spawnSync(PNGCHECK, ['-v', ...paths], { encoding: 'utf8' });
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

/** Why Python cannot be run here, or undefined when it can. */
export function pythonMissing(): string | undefined {
  const run = spawnSync(PYTHON, ['-c', 'import zlib'], { encoding: 'utf8' });
  return run.error ? `${PYTHON} is not installed on this machine (${run.error.message})` : undefined;
}

/**
 * Python's zlib.decompress over a PNG file's IDAT data joined in order: the length and SHA-256 of
 * what it inflates to, or the exception it raised.
 */
export function pythonInflateIdat(path: string): { ok: boolean; length: number; sha256: string; output: string } {
  const script = [
    'import hashlib, struct, sys, zlib',
    'data = open(sys.argv[1], "rb").read()',
    'pos, idat = 8, []',
    'while pos < len(data):',
    '    n, kind = struct.unpack(">I4s", data[pos:pos + 8])',
    '    if kind == b"IDAT": idat.append(data[pos + 8:pos + 8 + n])',
    '    pos += 12 + n',
    'raw = zlib.decompress(b"".join(idat))',
    'print(len(raw), hashlib.sha256(raw).hexdigest())',
  ].join('\n');
  const run = spawnSync(PYTHON, ['-c', script, path], { encoding: 'utf8' });
  const [length, sha256] = run.stdout.trim().split(' ');
  return { ok: run.status === 0, length: Number(length), sha256: sha256 ?? '', output: `${run.stdout}${run.stderr}` };
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** sharp's decoding of a 1-channel PNG: its codes, width, height and channel count as sharp reads it. */
export async function decodeGrey(input: Buffer | string): Promise<{ codes: Buffer; width: number; height: number; channels: number }> {
  const meta = await sharp(input, { limitInputPixels: false }).metadata();
  const { data, info } = await sharp(input, { limitInputPixels: false }).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  return { codes: data, width: info.width, height: info.height, channels: meta.channels ?? 0 };
}

/** sharp's decoding to RGBA (an indexed PNG with tRNS comes out with its palette's alpha). */
export async function decodeRgba(input: Buffer | string): Promise<Buffer> {
  return sharp(input, { limitInputPixels: false }).ensureAlpha().raw().toBuffer();
}

/** A PNG rebuilt from its chunks after `edit` (which may replace, drop or add chunks), with fresh CRCs. */
export function rebuildPng(png: Buffer, edit: (chunks: PngChunk[]) => { type: string; data: Uint8Array }[]): Buffer {
  const chunks = edit(readChunks(png));
  return Buffer.concat([PNG_SIGNATURE, ...chunks.map((c) => encodeChunk(c.type, c.data))]);
}

/** Random-ish codes: smooth ramps with noise and runs of no-data (0), `width` × `rows`, row-major. */
export function codeImage(rand: () => number, width: number, rows: number): Uint8Array {
  const codes = new Uint8Array(width * rows);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < width; x++) {
      codes[y * width + x] = 1 + ((x * 3 + y * 5 + Math.floor(rand() * 9)) % 255);
    }
  }
  for (let runs = Math.ceil(codes.length / 200); runs > 0; runs--) {
    const start = Math.floor(rand() * codes.length);
    codes.fill(0, start, Math.min(codes.length, start + Math.floor(rand() * 3 * width)));
  }
  return codes;
}
