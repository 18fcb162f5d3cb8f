/**
 * encodeIndexedPng (master/output/indexed-png.ts), the web previews' PNG: with node:zlib and with
 * ISA-L it decodes (sharp, an independent decoder) to exactly the palette's colours of the codes,
 * code 0 transparent, and Debian's pngcheck accepts it where installed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { colourRamp } from '../../master/output/colour-ramp.js';
import { encodeIndexedPng } from '../../master/output/indexed-png.js';
import { IsalStripDeflater, ZlibStripDeflater, type StripDeflater } from '../../shared/png/strip-deflater.js';
import { loadIsal } from '../support/native-libraries.js';
import { codeImage, decodeRgba, pngcheck, pngcheckMissing } from '../support/png-tools.js';
import { prng } from '../support/prng.js';

const { library: isal, skip } = await loadIsal();
after(() => isal?.close());

/** What each code should decode to: the ramp's RGBA, code 0 transparent black as sharp gives it. */
function expectedRgba(codes: Uint8Array, ramp: Uint8Array): Buffer {
  const out = Buffer.alloc(codes.length * 4);
  codes.forEach((code, p) => out.set(ramp.subarray(code * 4, code * 4 + 4), p * 4));
  return out;
}

async function checkDeflater(deflater: () => StripDeflater): Promise<void> {
  const [width, height] = [301, 97]; // odd sizes: rows that are no multiple of the filter's 16 bytes
  const codes = codeImage(prng(11), width, height);
  codes.fill(0, 0, width * 3); // a few transparent rows
  const ramp = colourRamp('ndvi');
  const png = await encodeIndexedPng(codes, width, height, ramp, deflater());
  assert.ok((await decodeRgba(png)).equals(expectedRgba(codes, ramp)), 'every pixel is its code\'s colour');
  if (pngcheckMissing()) return;
  const dir = await mkdtemp(join(tmpdir(), 'tessera-indexed-'));
  try {
    await writeFile(join(dir, 'preview.png'), png);
    const checked = pngcheck(join(dir, 'preview.png'));
    assert.ok(checked.ok, checked.output);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('the web previews\' indexed PNG', () => {
  it('with node:zlib: the codes\' colours exactly, code 0 transparent', () => checkDeflater(() => new ZlibStripDeflater()));
  it('with ISA-L: the codes\' colours exactly, code 0 transparent', { skip }, () => checkDeflater(() => new IsalStripDeflater(isal!)));
});
