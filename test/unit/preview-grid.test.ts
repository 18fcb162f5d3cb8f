/**
 * The web preview's sampling: strips of any height, sampled by the worker from their own rows, put
 * together by the master into exactly the mosaic's every n-th code of every n-th row.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PreviewGrid, previewStepFor } from '../../master/output/preview-grid.js';
import { samplePreview } from '../../shared/raster/preview-sample.js';
import { previewFrame, reprojectCodes } from '../../master/output/web-preview.js';

test('the step keeps the long side at 2048 or below', () => {
  assert.equal(previewStepFor({ width: 349, height: 352 }), 1);
  assert.equal(previewStepFor({ width: 2048, height: 100 }), 1);
  assert.equal(previewStepFor({ width: 2049, height: 100 }), 2);
  assert.equal(previewStepFor({ width: 10980, height: 10980 }), 6);
  assert.ok(Math.ceil(10980 / 6) <= 2048);
});

test('strips sampled on their own make up the mosaic sampled whole, whatever their heights', () => {
  const width = 11;
  const height = 23;
  const mosaic = Uint8Array.from({ length: width * height }, (_, i) => 1 + (i % 254));
  for (const step of [1, 2, 3, 5]) {
    for (const heights of [[23], [4, 4, 4, 4, 4, 3], [7, 1, 9, 6], [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3]]) {
      const grid = new PreviewGrid({ width, height }, ['ndvi'], step);
      let top = 0;
      for (const rows of heights) {
        const strip = { top, rows };
        const preview = samplePreview(mosaic.subarray(top * width, (top + rows) * width), width, rows, grid.sampling(top));
        assert.equal(grid.complete, false);
        grid.add(strip, grid.check(strip, [{ index: 'ndvi', preview }]));
        top += rows;
      }
      assert.equal(grid.complete, true);
      const expected: number[] = [];
      for (let y = 0; y < height; y += step) for (let x = 0; x < width; x += step) expected.push(mosaic[y * width + x]!);
      assert.deepEqual([...grid.codes('ndvi')!], expected, `step ${step}, strips ${heights.join('+')}`);
    }
  }
});

test('a sample of the wrong size, or none, is refused with what was expected', () => {
  const grid = new PreviewGrid({ width: 10, height: 10 }, ['ndvi'], 3);
  const strip = { top: 2, rows: 5 }; // rows 2–6: the mosaic's rows 3 and 6 are sampled, 2 rows of 4
  assert.throws(() => grid.check(strip, [{ index: 'ndvi', preview: new Uint8Array(7) }]), /7 bytes, expected 8 \(4 × 2\)/);
  assert.throws(() => grid.check(strip, [{ index: 'ndvi' }]), /0 bytes, expected 8/);
  assert.equal(grid.check(strip, [{ index: 'ndvi', preview: new Uint8Array(8) }]).size, 1);
});

test('reprojecting two indices in one pass gives each what reprojecting it alone gives', () => {
  // A UTM 32N grid the size of a Sentinel-2 tile, sampled as the master samples it.
  const grid = { originX: 600000, originY: 5300040, pixelWidth: 10, pixelHeight: 10, width: 10980, height: 10980, epsg: 32632 };
  const previews = new PreviewGrid(grid, ['ndvi', 'ndsi']);
  const frame = previewFrame(grid, previews);
  const length = previews.width * previews.height;
  const ndvi = Uint8Array.from({ length }, (_, i) => 1 + (i % 251));
  const ndsi = Uint8Array.from({ length }, (_, i) => 1 + ((i * 7) % 253));
  const [both0, both1] = reprojectCodes(grid, previews, frame, [ndvi, ndsi]);
  const [alone0] = reprojectCodes(grid, previews, frame, [ndvi]);
  const [alone1] = reprojectCodes(grid, previews, frame, [ndsi]);
  assert.ok(both0 && both1 && alone0 && alone1);
  assert.ok(Buffer.from(both0).equals(Buffer.from(alone0)), 'ndvi');
  assert.ok(Buffer.from(both1).equals(Buffer.from(alone1)), 'ndsi');
  assert.ok(!Buffer.from(both0).equals(Buffer.from(both1)), 'the two outputs are not one copy');
  assert.ok(both0.some((code) => code === 0) && both0.some((code) => code > 0), 'the frame shows the mosaic and the outside around it');
});
