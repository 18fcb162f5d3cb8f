/**
 * NDWI, NDMI, NBR, SAVI and EVI through `tessera run` on generated Sentinel-2-like band files
 * (swir16 and swir22 at 20 m, resampled by nearest neighbour as for NDSI): every code equals an
 * independent per-pixel computation (±1 code), and each index has its colour mosaic.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { lastJsonLine, runCli } from '../support/cli.js';
import { prng } from '../support/prng.js';
import { compareCodes, referenceCode } from '../support/reference-index.js';
import { writeSyntheticBands, type SyntheticBands } from '../support/synthetic-bands.js';

const WIDTH = 80;
const HEIGHT = 64;
const OFFSET = -1000;
type Band = 'red' | 'green' | 'blue' | 'nir' | 'swir16' | 'swir22';
const PIXEL: Record<Band, number> = { red: 10, green: 10, blue: 10, nir: 10, swir16: 20, swir22: 20 };

let folder: string;
let scene: SyntheticBands<Band>;

before(async () => {
  folder = await mkdtemp(join(tmpdir(), 'tessera-more-indices-'));
  const random = prng(11);
  scene = await writeSyntheticBands({ folder, width: WIDTH, height: HEIGHT, pixel: PIXEL, values: (_band, width, height) => Uint16Array.from({ length: width * height }, (_, i) => (i < width ? 0 : 1000 + Math.floor(random() * 5000))) });
});
after(async () => {
  if (folder) await rm(folder, { recursive: true, force: true });
});

/** 1 + round((clamp(v, −1, 1) + 1) · 127); 0 for no-data or a value that is not finite. */
function codeOf(value: number, valid: boolean): number {
  if (!valid || !Number.isFinite(value)) return 0;
  return 1 + Math.round((Math.min(1, Math.max(-1, value)) + 1) * 127);
}

/** SAVI and EVI on reflectance, in float64, by their textbook formulas. */
const FORMULAS: Record<'savi' | 'evi', (at: (band: Band) => number) => number> = {
  savi: (at) => (1.5 * (at('nir') - at('red'))) / (at('nir') + at('red') + 0.5),
  evi: (at) => (2.5 * (at('nir') - at('red'))) / (at('nir') + 6 * at('red') - 7.5 * at('blue') + 1),
};

test('NDWI, NDMI and NBR equal an independent computation, each with its colour mosaic', async () => {
  const bands = (Object.keys(PIXEL) as Band[]).map((band) => `--band=${band}=${join(folder, `${band}.tif`)}`);
  const result = await runCli(['run', ...bands, '--index', 'ndwi,ndmi,nbr', '--reflectance-offset', String(OFFSET), '--workers', '1', '--out', join(folder, 'out'), '--json']);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const summary = lastJsonLine<{ outputs: Record<string, { png: string; colorPng: string } | string> }>(result.stdout);
  const pairs: Record<'ndwi' | 'ndmi' | 'nbr', [Band, Band]> = { ndwi: ['green', 'nir'], ndmi: ['nir', 'swir16'], nbr: ['nir', 'swir22'] };
  for (const [index, [a, b]] of Object.entries(pairs)) {
    const files = summary.outputs[index];
    assert.ok(typeof files === 'object', `${index} written`);
    const { data, info } = await sharp(files.png).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [WIDTH, HEIGHT]);
    const expected = Uint8Array.from({ length: WIDTH * HEIGHT }, (_, i) => referenceCode(scene.valueAt(a, i % WIDTH, Math.floor(i / WIDTH)), scene.valueAt(b, i % WIDTH, Math.floor(i / WIDTH)), OFFSET, 0, 0));
    const agreement = compareCodes(new Uint8Array(data), expected);
    assert.equal(agreement.nodataMismatches, 0, `${index}: no-data identical`);
    assert.equal(agreement.withinOne, agreement.total, `${index}: every code within ±1`);
    assert.ok(agreement.exact / agreement.total > 0.999, `${index}: ${agreement.exact} of ${agreement.total} exact`);
    const colour = await sharp(files.colorPng).metadata();
    assert.deepEqual([colour.width, colour.height], [WIDTH, HEIGHT], `${index}: colour mosaic`);
  }
});

test('SAVI and EVI equal their formulas on reflectance (an independent float64 computation)', async () => {
  const bands = (['red', 'nir', 'blue'] as const).map((band) => `--band=${band}=${join(folder, `${band}.tif`)}`);
  const result = await runCli(['run', ...bands, '--index', 'savi,evi', '--reflectance-offset', String(OFFSET), '--workers', '1', '--out', join(folder, 'formulas'), '--json']);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const summary = lastJsonLine<{ outputs: Record<string, { png: string; colorPng: string } | string> }>(result.stdout);
  for (const [index, formula] of Object.entries(FORMULAS)) {
    const files = summary.outputs[index];
    assert.ok(typeof files === 'object', `${index} written`);
    const { data } = await sharp(files.png).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    const expected = Uint8Array.from({ length: WIDTH * HEIGHT }, (_, i) => {
      const [column, row] = [i % WIDTH, Math.floor(i / WIDTH)];
      const dn = (band: Band): number => scene.valueAt(band, column, row);
      const valid = (['red', 'nir', 'blue'] as const).every((band) => dn(band) !== 0);
      return codeOf(formula((band) => (dn(band) + OFFSET) / 10000), valid);
    });
    const agreement = compareCodes(new Uint8Array(data), expected);
    assert.equal(agreement.nodataMismatches, 0, `${index}: no-data identical`);
    assert.equal(agreement.withinOne, agreement.total, `${index}: every code within ±1`);
    assert.ok(expected.some((code) => code > 1 && code < 255), `${index}: the test sees values inside the range`);
    assert.ok((await sharp(files.colorPng).metadata()).width === WIDTH, `${index}: colour mosaic`);
  }
});
