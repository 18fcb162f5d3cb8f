import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fromFile } from 'geotiff';
import { createGround } from '../../bench/scene/ground.js';
import { renderRows } from '../../bench/scene/render.js';
import { ensureScene } from '../../bench/scene/scene-cache.js';
import { parseSceneSize, sceneSpec, type BandSpec } from '../../bench/scene/spec.js';
import { hasGdal } from '../support/gdal.js';

const spec = sceneSpec('small', { width: 512, height: 512 });
const band = (id: BandSpec['id']): BandSpec => spec.bands.find((b) => b.id === id)!;

function render(id: BandSpec['id'], first = 0, rows = band(id).height): Uint16Array {
  const out = new Uint16Array(rows * band(id).width);
  renderRows(createGround(spec.width, spec.height), band(id), first, rows, spec, out);
  return out;
}

describe('synthetic scene', () => {
  it('has the Sentinel-2 layout: 10 m bands, B11 at 20 m on the same origin', () => {
    assert.deepEqual(
      spec.bands.map((b) => [b.id, b.stac, b.pixelSize, b.width, b.height]),
      [['B03', 'green', 10, 512, 512], ['B04', 'red', 10, 512, 512], ['B08', 'nir', 10, 512, 512], ['B11', 'swir16', 20, 256, 256]],
    );
    assert.deepEqual(sceneSpec('full').bands.map((b) => b.width), [10980, 10980, 10980, 5490]);
    assert.deepEqual([sceneSpec('wide').width, sceneSpec('wide').height], [21960, 10980]);
    assert.deepEqual(parseSceneSize('4096x2048'), { width: 4096, height: 2048 });
    assert.throws(() => parseSceneSize('1001'), /even numbers/);
  });

  it('renders the same pixels however the rows are split', () => {
    const whole = render('B04');
    const parts = [render('B04', 0, 100), render('B04', 100, 412)];
    assert.deepEqual(Buffer.concat(parts.map((p) => Buffer.from(p.buffer))), Buffer.from(whole.buffer));
    assert.deepEqual(render('B04'), whole);
  });

  it('has a no-data corner, no other 0, and structure in both indices', () => {
    const [green, red, nir] = [render('B03'), render('B04'), render('B08')];
    const swir = render('B11');
    const at = (x: number, y: number): number => red[y * 512 + x]!;
    assert.equal(at(0, 511), 0, 'south-west corner is no-data');
    assert.ok(at(511, 0) > 0 && at(0, 0) > 0 && at(511, 511) > 0);
    const nodata = red.filter((v) => v === 0).length / red.length;
    assert.ok(nodata > 0.03 && nodata < 0.08, `no-data share ${nodata}`);
    for (let i = 0; i < red.length; i++) assert.equal(red[i] === 0, nir[i] === 0);
    let vegetation = 0;
    let water = 0;
    let snow = 0;
    for (let y = 0; y < 512; y++) {
      for (let x = 0; x < 512; x++) {
        const i = y * 512 + x;
        if (red[i] === 0) continue;
        const ndvi = (nir[i]! - red[i]!) / (nir[i]! + red[i]! - 2000);
        const g = green[i]! - 1000;
        const s = swir[(y >> 1) * 256 + (x >> 1)]! - 1000;
        if (ndvi > 0.5) vegetation++;
        if (ndvi < -0.1) water++;
        if ((g - s) / (g + s) > 0.6 && g > 4000) snow++;
      }
    }
    const valid = red.length * (1 - nodata);
    assert.ok(vegetation / valid > 0.2, `vegetation ${vegetation / valid}`);
    assert.ok(water / valid > 0.01, `water ${water / valid}`);
    assert.ok(snow / valid > 0.01, `snow ${snow / valid}`);
  });

  describe('cache', () => {
    const roots: string[] = [];
    after(() => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));
    const tiny = sceneSpec('small', { width: 1100, height: 1100 });
    const log = (): void => undefined;

    it('builds the files once, block by block, readable as the renderer drew them', async () => {
      const root = await mkdtemp(join(tmpdir(), 'bench-cache-'));
      roots.push(root);
      const built = await ensureScene(tiny, { cacheRoot: root, threads: 2, log });
      const again = await ensureScene(tiny, { cacheRoot: root, threads: 2, log });
      assert.equal(again.builtAt, built.builtAt, 'second call uses the cache');
      assert.equal(built.totalBytes, Object.values(built.bytes).reduce((a, b) => a + b, 0));
      const image = await (await fromFile(built.bands.swir16)).getImage(0);
      assert.deepEqual([image.getWidth(), image.getHeight(), image.getTileWidth(), image.getGDALNoData()], [550, 550, 1024, 0]);
      assert.deepEqual(image.getOrigin(), [600000, 5300040, 0]);
      const [values] = (await image.readRasters()) as unknown as [Uint16Array];
      const expected = new Uint16Array(550 * 550);
      renderRows(createGround(1100, 1100), tiny.bands[3]!, 0, 550, tiny, expected);
      assert.deepEqual(values, expected);
      if (hasGdal()) {
        const info = execFileSync('gdalinfo', [built.bands.red], { encoding: 'utf8' });
        assert.match(info, /Size is 1100, 1100/);
        assert.match(info, /Block=1024x1024 Type=UInt16/);
        assert.match(info, /COMPRESSION=DEFLATE/);
        assert.match(info, /PREDICTOR=2/);
        assert.match(info, /NoData Value=0/);
        assert.match(info, /UTM zone 33N/);
      }
    });

    it('builds afresh when the spec changes, and removes the stale copy', async () => {
      const root = await mkdtemp(join(tmpdir(), 'bench-cache-'));
      roots.push(root);
      const first = await ensureScene(tiny, { cacheRoot: root, threads: 1, log });
      const second = await ensureScene({ ...tiny, noiseDn: tiny.noiseDn + 1 }, { cacheRoot: root, threads: 1, log });
      assert.notEqual(second.stamp, first.stamp);
      assert.ok(!existsSync(first.dir));
      assert.deepEqual(await readdir(root), [`${tiny.name}-${second.stamp}`]);
    });
  });
});
