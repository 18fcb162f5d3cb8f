import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import sharp, { type Metadata } from 'sharp';

import { colourRamp } from '../../master/output/colour-ramp.js';
import { auxXmlText, crsWkt, type OutputGrid } from '../../master/output/georeference.js';
import { MosaicWriter } from '../../master/output/mosaic-writer.js';
import { encodeCodesPng } from '../../shared/raster/index-math.js';
import type { IndexName } from '../../shared/types.js';
import { hasGdal } from '../support/gdal.js';
import { prng } from '../support/prng.js';


interface TileSpec {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
  readonly codes: Uint8Array;
}

/** Random codes with about 10 % no-data (0). */
function randomCodes(rand: () => number, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => (rand() < 0.1 ? 0 : 1 + Math.floor(rand() * 255)));
}

/** A regular tiling of the grid (edge tiles cut to fit), leaving out the tiles `skip` says. */
function tiling(grid: OutputGrid, size: number, seed: number, skip: (col: number, row: number) => boolean): TileSpec[] {
  const rand = prng(seed);
  const tiles: TileSpec[] = [];
  for (let top = 0, row = 0; top < grid.height; top += size, row++) {
    for (let left = 0, col = 0; left < grid.width; left += size, col++) {
      if (skip(col, row)) continue;
      const width = Math.min(size, grid.width - left);
      const height = Math.min(size, grid.height - top);
      tiles.push({ left, top, width, height, codes: randomCodes(rand, width * height) });
    }
  }
  return tiles;
}

/** The mosaic the tiles should make, assembled independently: 0 wherever no tile covers. */
function expectedMosaic(grid: OutputGrid, tiles: readonly TileSpec[]): Uint8Array {
  const out = new Uint8Array(grid.width * grid.height);
  for (const t of tiles) {
    for (let y = 0; y < t.height; y++) {
      out.set(t.codes.subarray(y * t.width, (y + 1) * t.width), (t.top + y) * grid.width + t.left);
    }
  }
  return out;
}

async function readGrey(path: string): Promise<{ data: Uint8Array; meta: Metadata }> {
  const meta = await sharp(path, { limitInputPixels: false }).metadata();
  const { data } = await sharp(path, { limitInputPixels: false })
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), meta };
}

/** Index of the first difference, or −1. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}


let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'tessera-mosaic-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const grid: OutputGrid = {
  originX: 499980,
  originY: 9200020,
  pixelWidth: 10,
  pixelHeight: 10,
  width: 45,
  height: 37,
  epsg: 31985,
};

describe('MosaicWriter', () => {
  it('merges tiles (edge tiles included) exactly, leaves uncovered pixels 0, writes colour and sidecars', async () => {
    const outputDir = join(root, 'request-1');
    const wkt = crsWkt(grid.epsg);
    const indices: IndexName[] = ['ndvi', 'ndsi'];
    const writer = new MosaicWriter({ outputDir, grid, indices, crsWkt: wkt });
    // 16-px tiles over 45x37: edge tiles of 13 columns / 5 rows; tile (1, 1) missing → an uncovered hole
    const tilesByIndex = {
      ndvi: tiling(grid, 16, 1, (c, r) => c === 1 && r === 1),
      ndsi: tiling(grid, 16, 2, (c, r) => c === 2 && r === 0),
    };
    await Promise.all(
      indices.flatMap((index) =>
        tilesByIndex[index].map(async (t) =>
          writer.addTile(index, t.left, t.top, await encodeCodesPng(t.codes, t.width, t.height)),
        ),
      ),
    );
    assert.ok(await exists(`${outputDir}.partial`), 'tiles are staged beside the output folder');
    assert.ok(!(await exists(outputDir)), 'nothing final before finish');

    const outputs = await writer.finish();

    assert.ok(!(await exists(`${outputDir}.partial`)), 'no staging folder left');
    assert.deepEqual(
      (await readdir(outputDir)).sort(),
      indices
        .flatMap((i) => [`${i}.png`, `${i}.pgw`, `${i}.png.aux.xml`])
        .flatMap((name) => [name, name.replace(/^(\w+)\./, '$1_color.')])
        .sort(),
    );

    for (const index of indices) {
      const files = outputs[index];
      assert.ok(files, `outputs for ${index}`);
      for (const path of Object.values(files)) {
        assert.ok(isAbsolute(path) && dirname(path) === outputDir, path);
        assert.ok(await exists(path), path);
      }
      assert.equal(basename(files.png), `${index}.png`);
      assert.equal(basename(files.colorPng), `${index}_color.png`);

      const expected = expectedMosaic(grid, tilesByIndex[index]);
      assert.ok(expected.some((c) => c === 0) && expected.some((c) => c > 200), 'test data spans the range');
      const { data, meta } = await readGrey(files.png);
      assert.equal(meta.format, 'png');
      assert.equal(meta.channels, 1);
      assert.equal(meta.bitsPerSample, 8);
      assert.equal(meta.width, grid.width);
      assert.equal(meta.height, grid.height);
      assert.equal(firstDifference(data, expected), -1, `${index}: grey mosaic differs`);

      const colour = await sharp(files.colorPng).raw().toBuffer({ resolveWithObject: true });
      assert.equal(colour.info.channels, 4);
      const lut = colourRamp(index);
      for (let p = 0; p < expected.length; p++) {
        const code = expected[p]!;
        const got = [...colour.data.subarray(p * 4, p * 4 + 4)];
        const want = code === 0 ? [0, 0, 0, 0] : [...lut.subarray(code * 4, code * 4 + 4)];
        assert.deepEqual(got.slice(3), want.slice(3), `${index} pixel ${p} alpha (code ${code})`);
        if (code !== 0) assert.deepEqual(got, want, `${index} pixel ${p} colour (code ${code})`);
      }

      const world = (await readFile(files.worldFile, 'utf8')).trimEnd().split('\n').map(Number);
      assert.deepEqual(world, [10, 0, 0, -10, 499985, 9200015]);
      assert.equal(await readFile(files.colorWorldFile, 'utf8'), await readFile(files.worldFile, 'utf8'));
      assert.equal(await readFile(files.auxXml, 'utf8'), auxXmlText(wkt));
      const colourAux = await readFile(files.colorAuxXml, 'utf8');
      assert.match(colourAux, /AUTHORITY\[&quot;EPSG&quot;,&quot;31985&quot;\]\]<\/SRS>/);
    }
  });

  const gdal = { skip: hasGdal() ? false : 'gdalinfo is not installed' };
  it('GDAL opens the finished PNGs georeferenced', gdal, async () => {
    const outputDir = join(root, 'gdal');
    const writer = new MosaicWriter({ outputDir, grid, indices: ['ndvi'], crsWkt: crsWkt(grid.epsg) });
    await writer.addTile('ndvi', 16, 8, await encodeCodesPng(new Uint8Array(64).fill(77), 8, 8));
    const outputs = await writer.finish();
    interface GdalInfo {
      size: number[];
      geoTransform: number[];
      coordinateSystem: { wkt: string };
      bands: { type: string }[];
    }
    const info = (path: string): GdalInfo =>
      JSON.parse(execFileSync('gdalinfo', ['-json', path], { encoding: 'utf8' })) as GdalInfo;
    const transform = [grid.originX, grid.pixelWidth, 0, grid.originY, 0, -grid.pixelHeight];
    const grey = info(outputs.ndvi!.png);
    assert.deepEqual(grey.size, [grid.width, grid.height]);
    assert.deepEqual(grey.geoTransform, transform);
    assert.match(grey.coordinateSystem.wkt, /ID\["EPSG",31985\]/);
    assert.deepEqual(grey.bands.map((b) => b.type), ['Byte']);
    const colour = info(outputs.ndvi!.colorPng);
    assert.deepEqual(colour.geoTransform, transform);
    assert.match(colour.coordinateSystem.wkt, /ID\["EPSG",31985\]/);
    assert.equal(colour.bands.length, 4);
  });

  it('an index with no tiles at all is all no-data', async () => {
    const outputDir = join(root, 'empty');
    const writer = new MosaicWriter({ outputDir, grid, indices: ['ndsi'], crsWkt: crsWkt(grid.epsg) });
    const outputs = await writer.finish();
    const { data } = await readGrey(outputs.ndsi!.png);
    assert.ok(data.every((c) => c === 0));
    const colour = await sharp(outputs.ndsi!.colorPng).raw().toBuffer({ resolveWithObject: true });
    assert.equal(colour.info.channels, 4);
    assert.ok(colour.data.every((v) => v === 0));
  });

  it('rejects bad tiles with a clear error and keeps going', async () => {
    const outputDir = join(root, 'bad-tiles');
    const writer = new MosaicWriter({ outputDir, grid, indices: ['ndvi'], crsWkt: crsWkt(grid.epsg) });
    const grey = (w: number, h: number): Promise<Buffer> => encodeCodesPng(new Uint8Array(w * h).fill(9), w, h);

    const rgb = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#102030' } }).png().toBuffer();
    await assert.rejects(writer.addTile('ndvi', 0, 0, rgb), /tile ndvi at \(0, 0\): index PNG: 3 channel/);
    const greyAlpha = await sharp({ create: { width: 8, height: 8, channels: 4, background: '#10203080' } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    await assert.rejects(writer.addTile('ndvi', 0, 0, greyAlpha), /channel/);
    const grey16 = await sharp(Buffer.alloc(64), { raw: { width: 8, height: 8, channels: 1 } })
      .toColourspace('grey16')
      .png()
      .toBuffer();
    await assert.rejects(writer.addTile('ndvi', 0, 0, grey16), /expected 8|ushort|16/);
    const jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).jpeg().toBuffer();
    await assert.rejects(writer.addTile('ndvi', 0, 0, jpeg), /format is jpeg/);
    await assert.rejects(writer.addTile('ndvi', 0, 0, Buffer.from('not an image')), /not a readable image/);
    // wrong size: sticks out of the grid on the right / bottom
    await assert.rejects(writer.addTile('ndvi', 40, 0, await grey(8, 8)), /does not fit in the 45x37 grid/);
    await assert.rejects(writer.addTile('ndvi', 0, 30, await grey(8, 8)), /does not fit/);
    await assert.rejects(writer.addTile('ndvi', -1, 0, await grey(8, 8)), /non-negative integers/);
    await assert.rejects(writer.addTile('ndsi', 0, 0, await grey(8, 8)), /index not in this mosaic/);

    await writer.addTile('ndvi', 37, 29, await grey(8, 8)); // exactly in the corner: fits
    await assert.rejects(
      writer.addTile('ndvi', 33, 25, await grey(5, 5)),
      /overlaps the 8x8 tile already at \(37, 29\)/,
    );
    // The same tile sent again (a retried result) replaces the first instead of clashing.
    await writer.addTile('ndvi', 37, 29, await encodeCodesPng(new Uint8Array(64).fill(200), 8, 8));
    const outputs = await writer.finish();
    const { data } = await readGrey(outputs.ndvi!.png);
    assert.equal(data.filter((c) => c === 9).length, 0);
    assert.equal(data.filter((c) => c === 200).length, 64);
    await assert.rejects(writer.addTile('ndvi', 0, 0, await grey(8, 8)), /after the writer was finished/);
  });

  it('replaces an earlier run\'s folder, which stays whole until the new one is complete', async () => {
    const outputDir = join(root, 'rerun');
    await mkdir(outputDir, { recursive: true });
    await writeFile(join(outputDir, 'stale.txt'), 'from an earlier run');
    await mkdir(`${outputDir}.partial/tiles`, { recursive: true }); // left by a crashed run
    await writeFile(`${outputDir}.partial/tiles/junk.png`, 'junk');

    const writer = new MosaicWriter({ outputDir, grid, indices: ['ndvi'], crsWkt: crsWkt(grid.epsg) });
    await writer.addTile('ndvi', 0, 0, await encodeCodesPng(new Uint8Array(16).fill(200), 4, 4));
    assert.ok(await exists(join(outputDir, 'stale.txt')), 'earlier result untouched while staging');
    await writer.finish();
    assert.ok(!(await exists(join(outputDir, 'stale.txt'))));
    assert.ok(await exists(join(outputDir, 'ndvi.png')));
    const siblings = await readdir(root);
    assert.deepEqual(
      siblings.filter((name) => name.startsWith('rerun')),
      ['rerun'],
      'no .partial or .old folder left',
    );
  });

  it('abort() removes the staging folder and refuses further tiles', async () => {
    const outputDir = join(root, 'aborted');
    const writer = new MosaicWriter({ outputDir, grid, indices: ['ndvi'], crsWkt: crsWkt(grid.epsg) });
    await writer.addTile('ndvi', 0, 0, await encodeCodesPng(new Uint8Array(16).fill(3), 4, 4));
    assert.ok(await exists(`${outputDir}.partial`));
    await writer.abort();
    assert.ok(!(await exists(`${outputDir}.partial`)));
    assert.ok(!(await exists(outputDir)));
    await assert.rejects(writer.finish(), /after the writer was aborted/);
  });

  it('rejects an unusable configuration', () => {
    const base = { outputDir: join(root, 'x'), grid, indices: ['ndvi'] as IndexName[], crsWkt: 'GEOGCS["x"]' };
    assert.throws(() => new MosaicWriter({ ...base, indices: [] }), /no index/);
    assert.throws(() => new MosaicWriter({ ...base, indices: ['ndvi', 'ndvi'] }), /duplicate index/);
    assert.throws(() => new MosaicWriter({ ...base, grid: { ...grid, width: 0 } }), /output grid/);
    assert.throws(() => new MosaicWriter({ ...base, crsWkt: '' }), /empty WKT/);
  });

  it('many tiles (more than one composite takes): 19x17 grid of 16-px tiles, exact', async () => {
    const big: OutputGrid = { ...grid, width: 300, height: 260 };
    const tiles = tiling(big, 16, 3, (c, r) => (c * 7 + r * 3) % 11 === 0); // 323 slots, some left out
    assert.ok(tiles.length > 250);
    const outputDir = join(root, 'many');
    const writer = new MosaicWriter({ outputDir, grid: big, indices: ['ndvi'], crsWkt: crsWkt(big.epsg) });
    for (const t of tiles) {
      await writer.addTile('ndvi', t.left, t.top, await encodeCodesPng(t.codes, t.width, t.height));
    }
    const outputs = await writer.finish();
    const { data } = await readGrey(outputs.ndvi!.png);
    assert.equal(firstDifference(data, expectedMosaic(big, tiles)), -1);
    const colour = await sharp(outputs.ndvi!.colorPng).raw().toBuffer();
    const expected = expectedMosaic(big, tiles);
    for (let p = 0; p < expected.length; p++) {
      assert.equal(colour[p * 4 + 3], expected[p] === 0 ? 0 : 255, `alpha ${p}`);
    }
  });

  it('many tiles in a single row (merged in column strips), exact', async () => {
    const strip: OutputGrid = { ...grid, width: 1003, height: 6 };
    const tiles = tiling(strip, 10, 4, (c) => c === 50);
    assert.ok(tiles.length === 100);
    const outputDir = join(root, 'row');
    const writer = new MosaicWriter({ outputDir, grid: strip, indices: ['ndsi'], crsWkt: crsWkt(strip.epsg) });
    await Promise.all(
      tiles.map(async (t) => writer.addTile('ndsi', t.left, t.top, await encodeCodesPng(t.codes, t.width, t.height))),
    );
    const outputs = await writer.finish();
    const { data } = await readGrey(outputs.ndsi!.png);
    assert.equal(firstDifference(data, expectedMosaic(strip, tiles)), -1);
  });

  it('a large canvas with 120 tiles (3000x2400 px), exact', async () => {
    const large: OutputGrid = { ...grid, width: 3000, height: 2400 };
    const tiles = tiling(large, 250, 5, () => false);
    assert.equal(tiles.length, 12 * 10);
    const outputDir = join(root, 'large');
    const writer = new MosaicWriter({ outputDir, grid: large, indices: ['ndvi'], crsWkt: crsWkt(large.epsg) });
    for (const t of tiles) {
      await writer.addTile('ndvi', t.left, t.top, await encodeCodesPng(t.codes, t.width, t.height));
    }
    const outputs = await writer.finish();
    const { data, meta } = await readGrey(outputs.ndvi!.png);
    assert.equal(meta.channels, 1);
    assert.equal(firstDifference(data, expectedMosaic(large, tiles)), -1);
  });
});
