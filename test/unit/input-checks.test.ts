/**
 * The master's checks of input files, each in its own module: what a non-TIFF is (tiff-signature),
 * a local path that is no readable file (local-tiff-check), a file shorter than its blocks
 * (block-extent), two bands reading band 1 of a multi-band file (band-choice), and the pixel
 * limit every source obeys (pixel-limit).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fromFile } from 'geotiff';
import { loadMasterConfig } from '../../shared/config/master-config.js';
import { InvalidRequestError, SourceReadError } from '../../shared/errors.js';
import { checkBandChoice } from '../../master/source/band-choice.js';
import { blockExtent, checkBlocksInFile, TruncatedFileError } from '../../master/source/block-extent.js';
import { checkLocalTiff } from '../../master/source/local-tiff-check.js';
import { checkPixelLimit } from '../../master/source/pixel-limit.js';
import { isTiffHeader, notTiffReason } from '../../master/source/tiff-signature.js';
import { writeGeoTiff } from '../support/tiff-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-input-checks-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);
const text = (value: string): Uint8Array => new Uint8Array(Buffer.from(value, 'latin1'));

function tiff(options: { sparse?: boolean; tiled?: boolean } = {}): Buffer {
  return writeGeoTiff({
    width: 64,
    height: 64,
    sampleType: 'uint16',
    samples: [new Uint16Array(64 * 64).map((_, i) => i)],
    ...(options.tiled === false ? { rowsPerStrip: 16 } : { tileSize: 16 }),
    ...(options.sparse ? { sparse: ({ column }: { column: number }) => column === 3 } : {}),
    crs: { epsg: 32633 },
    origin: { x: 0, y: 0 },
    pixelSize: 10,
  });
}

describe('tiff-signature', () => {
  it('knows TIFF and BigTIFF headers, both byte orders', () => {
    for (const head of [text('II*\0'), text('MM\0*'), text('II+\0'), text('MM\0+')]) assert.equal(isTiffHeader(head), true);
    assert.equal(notTiffReason(text('II*\0\x08\0\0\0')), undefined);
  });

  it('says what else a file is', () => {
    assert.equal(notTiffReason(bytes(), 0), 'the file is empty (0 bytes)');
    assert.match(notTiffReason(bytes(0xff, 0xd8, 0xff, 0xe0, 0, 0x10))!, /it is a JPEG image; tessera reads GeoTIFFs \(convert it with gdal_translate -of GTiff\)/);
    assert.match(notTiffReason(bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a))!, /a PNG image/);
    assert.match(notTiffReason(bytes(0x50, 0x4b, 0x03, 0x04))!, /a ZIP archive/);
    assert.match(notTiffReason(text('<!DOCTYPE html><html>'))!, /an HTML or XML page/);
    assert.match(notTiffReason(text('  <html><body>'))!, /an HTML or XML page/);
    assert.equal(notTiffReason(text('hello, world\n')), 'not a TIFF file: it is text (it starts with "hello, world\\n")');
    assert.match(notTiffReason(bytes(0, 1, 2, 3, 4, 5, 6, 7, 8))!, /starts with the bytes 00 01 02 03 04 05 06 07, not a TIFF header/);
  });
});

describe('checkLocalTiff', () => {
  it('says plainly what is wrong with a path', async () => {
    mkdirSync(join(dir, 'folder.tif'), { recursive: true });
    writeFileSync(join(dir, 'empty.tif'), '');
    writeFileSync(join(dir, 'notes.tif'), 'not an image');
    writeFileSync(join(dir, 'good.tif'), tiff());
    await assert.rejects(checkLocalTiff(join(dir, 'nothing.tif')), /^Error: no such file \(the path is read on the master's machine/);
    await assert.rejects(checkLocalTiff(join(dir, 'notes.tif', 'x.tif')), /no such file \(a part of the path is not a folder\)/);
    await assert.rejects(checkLocalTiff(join(dir, 'folder.tif')), /it is a folder, not a file: name the GeoTIFF inside it/);
    await assert.rejects(checkLocalTiff(join(dir, 'empty.tif')), /the file is empty \(0 bytes\)/);
    await assert.rejects(checkLocalTiff(join(dir, 'notes.tif')), /it is text/);
    await checkLocalTiff(join(dir, 'good.tif'));
  });
});

describe('block-extent', () => {
  for (const tiled of [true, false]) {
    it(`finds the farthest ${tiled ? 'tile' : 'strip'} and refuses a file cut short`, async () => {
      const whole = tiff({ tiled });
      const path = join(dir, `whole-${tiled}.tif`);
      writeFileSync(path, whole);
      const file = await fromFile(path);
      try {
        const image = await file.getImage(0);
        const extent = await blockExtent(image);
        assert.equal(extent.end, whole.length, 'the last block ends the file');
        assert.equal(extent.blocks, tiled ? 16 : 4);
        await checkBlocksInFile(image, path);
        const cut = join(dir, `cut-${tiled}.tif`);
        writeFileSync(cut, whole.subarray(0, whole.length - 100));
        await assert.rejects(checkBlocksInFile(image, cut), (error: unknown) => {
          assert.ok(error instanceof TruncatedFileError && error instanceof SourceReadError);
          assert.match(error.message, new RegExp(`^the file is truncated: it is ${whole.length - 100} bytes long, but its ${tiled ? 'tile' : 'strip'} ${tiled ? 16 : 4} of ${tiled ? 16 : 4} ends at byte ${whole.length} \\(100 bytes missing\\)`));
          return true;
        });
      } finally {
        await file.close();
      }
    });
  }

  it('ignores sparse blocks (offset 0, no bytes)', async () => {
    const path = join(dir, 'sparse.tif');
    const data = tiff({ sparse: true });
    writeFileSync(path, data);
    const file = await fromFile(path);
    try {
      const extent = await blockExtent(await file.getImage(0));
      assert.equal(extent.end, data.length);
      assert.equal(extent.block, 14, 'tile 15 (index 14) is the last stored one; tile 16 is sparse');
    } finally {
      await file.close();
    }
  });
});

describe('checkBandChoice', () => {
  const files: Record<string, { key: string; bands: number }> = {
    '/s/four.tif': { key: '/s/four.tif', bands: 4 },
    './four.tif': { key: '/s/four.tif', bands: 4 },
    '/s/one.tif': { key: '/s/one.tif', bands: 1 },
    'https://h/m.tif?sig=SECRET': { key: 'https://h/m.tif?sig=SECRET', bands: 4 },
  };
  const fileOf = (uri: string): { key: string; bands: number } => files[uri]!;

  it('refuses two bands reading band 1 of a multi-band file, however it is spelled', () => {
    assert.throws(
      () => checkBandChoice([{ name: 'red', uri: '/s/four.tif', band: 1 }, { name: 'nir', uri: './four.tif', band: 1 }], fileOf),
      (error: unknown) => {
        assert.ok(error instanceof InvalidRequestError);
        assert.equal(
          error.message,
          'red and nir both read band 1 of "/s/four.tif" (a reference without #N reads band 1), which has 4 bands: pick the band each of them is with #N (1 to 4), ' +
            'e.g. {"red": "/s/four.tif#1", "nir": "/s/four.tif#2"} with the right numbers',
        );
        return true;
      },
    );
  });

  it('never shows a URL\'s query', () => {
    assert.throws(
      () => checkBandChoice([{ name: 'red', uri: 'https://h/m.tif?sig=SECRET', band: 1 }, { name: 'nir', uri: 'https://h/m.tif?sig=SECRET', band: 1 }], fileOf),
      (error: unknown) => error instanceof InvalidRequestError && !error.message.includes('SECRET') && error.message.includes('"https://h/m.tif"'),
    );
  });

  it('lets be bands that chose their numbers, or a single-band file', () => {
    checkBandChoice([{ name: 'red', uri: '/s/four.tif', band: 3 }, { name: 'nir', uri: '/s/four.tif', band: 4 }], fileOf);
    checkBandChoice([{ name: 'red', uri: '/s/four.tif', band: 3 }, { name: 'swir16', uri: './four.tif', band: 3 }], fileOf);
    checkBandChoice([{ name: 'red', uri: '/s/four.tif', band: 1 }, { name: 'nir', uri: '/s/four.tif', band: 4 }], fileOf);
    checkBandChoice([{ name: 'red', uri: '/s/one.tif', band: 1 }, { name: 'nir', uri: '/s/one.tif', band: 1 }], fileOf);
  });
});

describe('checkPixelLimit', () => {
  it('the default MAX_REQUEST_PIXELS lets a Sentinel-2 tile through, and two side by side', () => {
    const { maxRequestPixels } = loadMasterConfig({});
    checkPixelLimit({ width: 10_980, height: 10_980 }, maxRequestPixels, 'one tile');
    checkPixelLimit({ width: 21_960, height: 10_980 }, maxRequestPixels, 'two tiles');
    assert.throws(() => checkPixelLimit({ width: 50_000, height: 50_000 }, maxRequestPixels, 'the sparse header'), InvalidRequestError);
  });

  it('allows up to the limit and names the grid, the limit and the variable beyond it', () => {
    checkPixelLimit({ width: 100, height: 100 }, 10_000, 'the grid');
    assert.throws(
      () => checkPixelLimit({ width: 50_000, height: 50_000 }, 100_000_000, 'the bands\' common grid (red, nir)'),
      /^InvalidRequestError: the bands' common grid \(red, nir\) would make an output of 50000 × 50000 = 2500000000 pixels, more than the 100000000 this master allows \(MAX_REQUEST_PIXELS\)/,
    );
  });
});
