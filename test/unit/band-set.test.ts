import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fromFile } from 'geotiff';
import { IncompatibleBandsError, InvalidRequestError, SourceReadError } from '../../shared/errors.js';
import { openGeoTiff, type TiffOpener } from '../../master/source/geotiff-opener.js';
import { openBandSet, referenceRowsFor } from '../../master/source/band-set.js';
import type { BandInput } from '../../shared/types.js';
import { writeGeoTiff } from '../support/tiff-writer.js';

const SAMPLE = 'samples/L7_ETMs.tif';
const dir = mkdtempSync(join(tmpdir(), 'tessera-band-set-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function band(name: string, opts: { epsg?: number; x: number; y: number; size: number; width: number; height: number }): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    writeGeoTiff({
      width: opts.width,
      height: opts.height,
      sampleType: 'uint16',
      samples: [new Uint16Array(opts.width * opts.height).fill(1)],
      crs: { epsg: opts.epsg ?? 32633 },
      origin: { x: opts.x, y: opts.y },
      pixelSize: opts.size,
      tileSize: 16,
      compression: 8,
    }),
  );
  return path;
}

describe('openBandSet', () => {
  it('rejects bands in different CRSs, naming them and their CRSs', async () => {
    const a = band('utm33.tif', { epsg: 32633, x: 500000, y: 5000000, size: 10, width: 20, height: 20 });
    const b = band('utm34.tif', { epsg: 32634, x: 500000, y: 5000000, size: 10, width: 20, height: 20 });
    await assert.rejects(
      openBandSet([
        { name: 'red', uri: a, band: 1 },
        { name: 'nir', uri: b, band: 1 },
      ]),
      (error: unknown) => {
        assert.ok(error instanceof IncompatibleBandsError);
        assert.match(error.message, /red EPSG:32633/);
        assert.match(error.message, /nir EPSG:32634/);
        return true;
      },
    );
  });

  it('rejects bands that do not overlap (or only touch)', async () => {
    const a = band('west.tif', { x: 500000, y: 5000000, size: 10, width: 20, height: 20 });
    const b = band('east.tif', { x: 500300, y: 5000000, size: 10, width: 20, height: 20 });
    const touching = band('touching.tif', { x: 500200, y: 5000000, size: 10, width: 20, height: 20 });
    for (const other of [b, touching]) {
      await assert.rejects(
        openBandSet([
          { name: 'red', uri: a, band: 1 },
          { name: 'nir', uri: other, band: 1 },
        ]),
        (error: unknown) => {
          assert.ok(error instanceof IncompatibleBandsError);
          assert.match(error.message, /do not overlap/);
          assert.match(error.message, /red/);
          assert.match(error.message, /nir/);
          return true;
        },
      );
    }
  });

  it('uses the 10 m grid for a 10 m + 20 m pair sharing an origin (Sentinel-2)', async () => {
    const swir = band('b11.tif', { x: 600000, y: 5100000, size: 20, width: 25, height: 20 });
    const red = band('b04.tif', { x: 600000, y: 5100000, size: 10, width: 50, height: 40 });
    const set = await openBandSet([
      { name: 'swir16', uri: swir, band: 1 },
      { name: 'red', uri: red, band: 1 },
    ]);
    try {
      assert.equal(set.reference.name, 'red');
      assert.deepEqual(set.grid, { originX: 600000, originY: 5100000, pixelWidth: 10, pixelHeight: 10, width: 50, height: 40, epsg: 32633 });
      assert.deepEqual(set.referenceOffset, { column: 0, row: 0 });
      assert.deepEqual(set.bands.map((b) => b.name), ['swir16', 'red']);
      assert.deepEqual(referenceRowsFor(set), { height: 16, offsetY: 0 });
    } finally {
      await set.close();
    }
  });

  it('cuts the grid to the pixels whose centres lie in the common extent', async () => {
    // 10 m band: x 600000..600500, y 5099600..5100000. 20 m band: x 600035..600435, y 5099625..5099985.
    const fine = band('fine.tif', { x: 600000, y: 5100000, size: 10, width: 50, height: 40 });
    const coarse = band('coarse.tif', { x: 600035, y: 5099985, size: 20, width: 20, height: 18 });
    const set = await openBandSet([
      { name: 'swir16', uri: coarse, band: 1 },
      { name: 'nir', uri: fine, band: 1 },
    ]);
    try {
      // Independent expectation: walk the fine pixels and keep those whose centre is inside both.
      const inside = (c: number, r: number): boolean => {
        const x = 600000 + (c + 0.5) * 10;
        const y = 5100000 - (r + 0.5) * 10;
        return x >= 600035 && x < 600435 && y <= 5099985 && y > 5099625;
      };
      const cols = Array.from({ length: 50 }, (_, c) => c).filter((c) => inside(c, 10));
      const rows = Array.from({ length: 40 }, (_, r) => r).filter((r) => inside(10, r));
      assert.deepEqual(set.grid, {
        originX: 600000 + cols[0]! * 10,
        originY: 5100000 - rows[0]! * 10,
        pixelWidth: 10,
        pixelHeight: 10,
        width: cols.length,
        height: rows.length,
        epsg: 32633,
      });
      assert.deepEqual(set.referenceOffset, { column: cols[0], row: rows[0] });
      assert.deepEqual(referenceRowsFor(set), { height: 16, offsetY: rows[0] });
    } finally {
      await set.close();
    }
  });

  it('opens a file once and describes a file+band once', async () => {
    const opened: string[] = [];
    const open: TiffOpener = async (uri, signal) => {
      opened.push(uri);
      return openGeoTiff(uri, signal);
    };
    const inputs: BandInput[] = [
      { name: 'red', uri: SAMPLE, band: 3 },
      { name: 'nir', uri: SAMPLE, band: 4 },
      { name: 'green', uri: SAMPLE, band: 2 },
      { name: 'swir16', uri: `./${SAMPLE}`, band: 3 },
    ];
    const set = await openBandSet(inputs, { open });
    try {
      assert.equal(opened.length, 1);
      const [red, nir, green, swir] = set.bands;
      assert.equal(red!.source.file, nir!.source.file);
      assert.equal(red!.source.file, green!.source.file);
      assert.equal(red!.source, swir!.source, 'same file and band share one BandSource');
      assert.notEqual(red!.source, nir!.source);
      assert.deepEqual(referenceRowsFor(set), { height: set.reference.source.layout.blockHeight, offsetY: 0 }, 'the sample\'s strips are its block rows');
      assert.equal(set.reference.source.layout.tiled, false);
      const tiff = await fromFile(SAMPLE);
      const image = await tiff.getImage();
      const [ox, oy] = image.getOrigin();
      await tiff.close();
      assert.deepEqual(set.grid, { originX: ox, originY: oy, pixelWidth: red!.source.transform.pixelWidth, pixelHeight: red!.source.transform.pixelHeight, width: 349, height: 352, epsg: 31985 });
    } finally {
      await set.close();
    }
  });

  it('names every band of a file that cannot be opened, and closes what it opened', async () => {
    const closed: string[] = [];
    const open: TiffOpener = async (uri, signal) => {
      const tiff = await openGeoTiff(uri, signal);
      const close = tiff.close.bind(tiff);
      tiff.close = () => {
        closed.push(uri);
        return close();
      };
      return tiff;
    };
    const missing = join(dir, 'missing.tif');
    await assert.rejects(
      openBandSet(
        [
          { name: 'red', uri: SAMPLE, band: 3 },
          { name: 'green', uri: missing, band: 1 },
          { name: 'swir16', uri: missing, band: 2 },
        ],
        { open },
      ),
      (error: unknown) => {
        assert.ok(error instanceof SourceReadError);
        assert.match(error.message, /green, swir16/);
        assert.ok(error.message.includes(missing));
        return true;
      },
    );
    assert.deepEqual(closed, [SAMPLE]);
  });

  it('rejects an empty or duplicated band list', async () => {
    await assert.rejects(openBandSet([]), InvalidRequestError);
    await assert.rejects(
      openBandSet([
        { name: 'red', uri: SAMPLE, band: 1 },
        { name: 'red', uri: SAMPLE, band: 2 },
      ]),
      InvalidRequestError,
    );
  });
});
