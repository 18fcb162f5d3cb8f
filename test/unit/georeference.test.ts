import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import sharp from 'sharp';

import {
  assertValidGrid,
  auxXmlText,
  crsWkt,
  fallbackCrsWkt,
  gridBounds,
  worldFileText,
  type OutputGrid,
} from '../../master/output/georeference.js';
import { hasGdal } from '../support/gdal.js';

const grid: OutputGrid = {
  originX: 499980,
  originY: 9200020,
  pixelWidth: 20,
  pixelHeight: 30,
  width: 7,
  height: 5,
  epsg: 31985,
};

/** The outermost AUTHORITY of a WKT1 string (the last one before the final bracket). */
function outerAuthority(wkt: string): string | undefined {
  return /AUTHORITY\["EPSG","(\d+)"\]\]$/.exec(wkt)?.[1];
}


describe('worldFileText', () => {
  it('writes six lines: sizes, no rotation, the CENTRE of the upper-left pixel', () => {
    const lines = worldFileText(grid).trimEnd().split('\n').map(Number);
    assert.equal(lines.length, 6);
    assert.deepEqual(lines, [20, 0, 0, -30, 499980 + 20 / 2, 9200020 - 30 / 2]);
  });

  it('its affine maps pixel centres and the outer corner back onto the grid', () => {
    const [a, d, b, e, c, f] = worldFileText(grid).trimEnd().split('\n').map(Number) as [
      number, number, number, number, number, number,
    ];
    // World-file convention: the map coordinate of pixel (col, row)'s centre is (A·col + B·row + C, D·col + E·row + F).
    const bounds = gridBounds(grid);
    const centre = (col: number, row: number): [number, number] => [a * col + b * row + c, d * col + e * row + f];
    // the last pixel's centre is half a pixel inside the lower-right corner
    assert.deepEqual(centre(grid.width - 1, grid.height - 1), [bounds.maxX - 10, bounds.minY + 15]);
    // the first pixel's outer corner is the grid origin
    assert.deepEqual([c - a / 2, f - e / 2], [grid.originX, grid.originY]);
  });

  it('keeps full precision (no rounding of fractional coordinates)', () => {
    const size = 8.983152841195214e-5;
    const g = { ...grid, originX: -46.123456789012, originY: -23.5, pixelWidth: size, pixelHeight: size, epsg: 4326 };
    const lines = worldFileText(g).trimEnd().split('\n').map(Number);
    assert.equal(lines[0], g.pixelWidth);
    assert.equal(lines[4], g.originX + g.pixelWidth / 2);
    assert.equal(lines[5], g.originY - g.pixelHeight / 2);
  });

  it('rejects an invalid grid', () => {
    assert.throws(() => worldFileText({ ...grid, pixelHeight: -30 }), /pixel sizes/);
    assert.throws(() => assertValidGrid({ ...grid, width: 0 }), /size/);
    assert.throws(() => assertValidGrid({ ...grid, originX: Number.NaN }), /origin/);
  });
});

describe('gridBounds', () => {
  it('spans width·pixelWidth east and height·pixelHeight south of the origin', () => {
    assert.deepEqual(gridBounds(grid), { minX: 499980, minY: 9200020 - 150, maxX: 499980 + 140, maxY: 9200020 });
  });
});

describe('crsWkt', () => {
  it('EPSG:31985 (the sample data) is SIRGAS 2000 / UTM zone 25S', () => {
    const wkt = crsWkt(31985);
    assert.equal(outerAuthority(wkt), '31985');
    assert.match(wkt, /^PROJCS\["SIRGAS 2000 \/ UTM zone 25S"/);
    assert.match(wkt, /PARAMETER\["central_meridian",-33\]/); // zone 25: −180 + 6·25 − 3
    assert.match(wkt, /PARAMETER\["false_northing",10000000\]/); // southern hemisphere
    assert.match(wkt, /AUTHORITY\["EPSG","4674"\]/); // SIRGAS 2000 geographic CRS
  });

  it('EPSG:32633 is WGS 84 / UTM zone 33N', () => {
    const wkt = crsWkt(32633);
    assert.equal(outerAuthority(wkt), '32633');
    assert.match(wkt, /UTM zone 33N/);
    assert.match(wkt, /PARAMETER\["central_meridian",15\]/);
    assert.match(wkt, /PARAMETER\["false_northing",0\]/);
  });

  it('EPSG:3857 and EPSG:4326', () => {
    assert.equal(outerAuthority(crsWkt(3857)), '3857');
    assert.match(crsWkt(3857), /Pseudo-Mercator/);
    assert.equal(outerAuthority(crsWkt(4326)), '4326');
    assert.match(crsWkt(4326), /^GEOGCS\["WGS 84"/);
  });

  it('the composed fallbacks agree with the epsg-index data for every code they cover', () => {
    const codes = [4326, 3857];
    for (let zone = 1; zone <= 60; zone++) codes.push(32600 + zone, 32700 + zone);
    for (const code of codes) assert.equal(fallbackCrsWkt(code), crsWkt(code), `EPSG:${code}`);
    assert.equal(fallbackCrsWkt(31985), undefined);
    assert.equal(fallbackCrsWkt(32661), undefined); // UPS North, not a UTM zone
  });

  it('throws a clear error for unknown, invalid or non-horizontal codes', () => {
    assert.throws(() => crsWkt(999999), /EPSG:999999: no WKT known/);
    assert.throws(() => crsWkt(1.5), /not a valid EPSG code/);
    assert.throws(() => crsWkt(-4326), /not a valid EPSG code/);
    assert.throws(() => crsWkt(5773), /not a 2D projected or geographic CRS/); // EGM96 height
  });
});

describe('auxXmlText', () => {
  it('wraps the WKT, XML-escaped, in a PAMDataset SRS element', () => {
    const wkt = crsWkt(31985);
    const xml = auxXmlText(wkt);
    const match = /^<PAMDataset>\s*<SRS>([^<]*)<\/SRS>\s*<\/PAMDataset>\s*$/.exec(xml);
    assert.ok(match, xml);
    assert.ok(!match[1]!.includes('"'), 'quotes are escaped');
    const unescaped = match[1]!
      .replace(/&quot;/g, '"')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
    assert.equal(unescaped, wkt);
  });

  it('escapes markup characters', () => {
    assert.match(auxXmlText('A<B>&"C"'), /<SRS>A&lt;B&gt;&amp;&quot;C&quot;<\/SRS>/);
    assert.throws(() => auxXmlText('  '), /empty WKT/);
  });

  const gdal = { skip: hasGdal() ? false : 'gdalinfo is not installed' };
  it('GDAL reads the sidecars as the intended georeferencing', gdal, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-georef-'));
    try {
      const png = join(dir, 'ndvi.png');
      await sharp({ create: { width: grid.width, height: grid.height, channels: 3, background: '#000' } })
        .extractChannel(0)
        .png()
        .toFile(png);
      await writeFile(join(dir, 'ndvi.pgw'), worldFileText(grid));
      await writeFile(`${png}.aux.xml`, auxXmlText(crsWkt(grid.epsg)));
      const info = JSON.parse(execFileSync('gdalinfo', ['-json', png], { encoding: 'utf8' })) as {
        geoTransform: number[];
        coordinateSystem: { wkt: string };
      };
      assert.deepEqual(info.geoTransform, [grid.originX, grid.pixelWidth, 0, grid.originY, 0, -grid.pixelHeight]);
      assert.match(info.coordinateSystem.wkt, /ID\["EPSG",31985\]|AUTHORITY\["EPSG","31985"\]/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
