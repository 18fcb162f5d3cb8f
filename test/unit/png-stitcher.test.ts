import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { colourRamp } from '../../master/output/colour-ramp.js';
import { paletteChunks, PngStitcher } from '../../master/output/png-stitcher.js';
import { readChunks } from '../../shared/png/png-chunks.js';
import { encodeStripPng, parseStripPng, type StripData } from '../../shared/png/strip-png.js';
import { codeImage, decodeGrey, pngcheck, pngcheckMissing } from '../support/png-tools.js';
import { prng } from '../support/prng.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-stitcher-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const width = 50;
const stripRows = [3, 11, 6];
const height = 20;

async function strips(codes: Uint8Array): Promise<StripData[]> {
  const out: StripData[] = [];
  let top = 0;
  for (const rows of stripRows) {
    const png = await encodeStripPng(codes.subarray(top * width, (top + rows) * width), width, rows);
    out.push(parseStripPng(png, { width, rows }));
    top += rows;
  }
  return out;
}

describe('PngStitcher', () => {
  it('splits IDAT data at the limit it is given; the file still decodes to the codes', async (t) => {
    const codes = codeImage(prng(1), width, height);
    const path = join(dir, 'small-idat.png');
    const stitcher = await PngStitcher.create(path, { width, height, maxIdatLength: 100 });
    for (const strip of await strips(codes)) await stitcher.append(strip);
    await stitcher.finish();
    const png = await readFile(path);
    const idat = readChunks(png).filter((c) => c.type === 'IDAT');
    assert.ok(idat.length > 5, `${idat.length} IDAT chunks`);
    assert.ok(idat.every((c) => c.data.length <= 100));
    assert.ok((await decodeGrey(png)).codes.equals(codes));
    const missing = pngcheckMissing();
    if (missing) return t.skip(`pngcheck check skipped: ${missing}`);
    const verdict = pngcheck(path);
    assert.ok(verdict.ok, verdict.output);
  });

  it('refuses a strip that overruns the image, and finishing with rows missing', async () => {
    const all = await strips(codeImage(prng(2), width, height));
    const stitcher = await PngStitcher.create(join(dir, 'overrun.png'), { width, height });
    await stitcher.append(all[1]!);
    await assert.rejects(stitcher.finish(), /strips cover 561 of the image's 1020 filtered bytes/);
    await assert.rejects(stitcher.append(all[1]!), /a strip of 561 filtered bytes overruns the image \(561 of 1020 written\)/);
    await stitcher.close();
  });

  it('writes a one-byte tRNS for a ramp whose only transparent entry is code 0', () => {
    const [plte, trns] = paletteChunks(colourRamp('ndvi'));
    assert.equal(plte!.readUInt32BE(0), 768);
    assert.equal(trns!.readUInt32BE(0), 1);
    assert.equal(trns![8], 0);
    const opaque = new Uint8Array(1024).fill(255);
    assert.equal(paletteChunks(opaque).length, 1, 'no tRNS when every entry is opaque');
  });
});
