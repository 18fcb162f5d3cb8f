/**
 * A request's own band math (`--expression`, output `expr`) through `tessera run` on generated
 * Sentinel-2-like band files (swir16 at 20 m, resampled by nearest neighbour): two expressions, one
 * over the default range [−1, 1] and one over a range of its own, equal an independent float64
 * computation (±1 code); the manifest records the expression and its range; and NDVI computed
 * beside an expression is byte for byte the NDVI computed alone.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { lastJsonLine, runCli } from '../support/cli.js';
import { prng } from '../support/prng.js';
import { compareCodes } from '../support/reference-index.js';
import { writeSyntheticBands, type SyntheticBands } from '../support/synthetic-bands.js';

const WIDTH = 80;
const HEIGHT = 64;
const OFFSET = -1000;
type Band = 'red' | 'green' | 'blue' | 'nir' | 'swir16';
const PIXEL: Record<Band, number> = { red: 10, green: 10, blue: 10, nir: 10, swir16: 20 };

let folder: string;
let scene: SyntheticBands<Band>;

before(async () => {
  folder = await mkdtemp(join(tmpdir(), 'tessera-expression-'));
  const random = prng(23);
  // The first row is no-data; DN 1000 (reflectance 0 with the offset) is common enough to give zero denominators.
  const values = (_band: Band, width: number, height: number): Uint16Array =>
    Uint16Array.from({ length: width * height }, (_, i) => (i < width ? 0 : 1000 + Math.floor(random() * 5000) * (random() < 0.02 ? 0 : 1)));
  scene = await writeSyntheticBands({ folder, width: WIDTH, height: HEIGHT, pixel: PIXEL, values });
});
after(async () => {
  if (folder) await rm(folder, { recursive: true, force: true });
});

/** 1 + round((clamp(v, lo, hi) − lo) / (hi − lo) · 254); 0 for no-data or a value that is not finite. */
function codeOf(value: number, valid: boolean, [lo, hi]: readonly [number, number]): number {
  if (!valid || !Number.isFinite(value)) return 0;
  return 1 + Math.round(((Math.min(hi, Math.max(lo, value)) - lo) / (hi - lo)) * 254);
}

interface Case {
  readonly text: string;
  readonly range?: readonly [number, number];
  /** The bands it reads, in the order the manifest names them (red, nir, green, swir16, swir22, blue). */
  readonly bands: readonly Band[];
  readonly formula: (at: (band: Band) => number) => number;
}

const CASES: readonly Case[] = [
  { text: '(nir - swir16) / (nir + swir16)', bands: ['nir', 'swir16'], formula: (at) => (at('nir') - at('swir16')) / (at('nir') + at('swir16')) },
  { text: 'nir / red - 0.5 * (green + blue)', range: [-0.5, 4], bands: ['red', 'nir', 'green', 'blue'], formula: (at) => at('nir') / at('red') - 0.5 * (at('green') + at('blue')) },
];

type Summary = { outputs: Record<string, { png: string; colorPng: string } | string> };

async function run(args: readonly string[], out: string): Promise<Summary> {
  const bands = (Object.keys(PIXEL) as Band[]).map((band) => `--band=${band}=${join(folder, `${band}.tif`)}`);
  const result = await runCli(['run', ...bands, ...args, '--reflectance-offset', String(OFFSET), '--workers', '1', '--out', join(folder, out), '--json']);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  return lastJsonLine<Summary>(result.stdout);
}

for (const [n, { text, range, bands, formula }] of CASES.entries()) {
  test(`the expression ${text} over ${range ? `[${range.join(', ')}]` : 'the default range'} equals an independent computation`, async () => {
    const summary = await run(['--expression', text, ...(range ? [`--range=${range.join(',')}`] : [])], `expr-${n}`);
    const files = summary.outputs['expr'];
    assert.ok(typeof files === 'object', 'expr written');
    assert.deepEqual(Object.keys(summary.outputs).filter((key) => key !== 'manifest'), ['expr'], 'only the expression: --index left out');
    const { data, info } = await sharp(files.png).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [WIDTH, HEIGHT]);
    const expected = Uint8Array.from({ length: WIDTH * HEIGHT }, (_, i) => {
      const [column, row] = [i % WIDTH, Math.floor(i / WIDTH)];
      const valid = bands.every((band) => scene.valueAt(band, column, row) !== 0);
      return codeOf(formula((band) => (scene.valueAt(band, column, row) + OFFSET) / 10000), valid, range ?? [-1, 1]);
    });
    const agreement = compareCodes(new Uint8Array(data), expected);
    assert.equal(agreement.nodataMismatches, 0, 'no-data identical');
    assert.equal(agreement.withinOne, agreement.total, 'every code within ±1');
    assert.ok(expected.some((code) => code > 1 && code < 255), 'the test sees values inside the range');
    assert.ok(expected.slice(WIDTH).some((code) => code === 0), 'the test sees a zero denominator');
    assert.equal((await sharp(files.colorPng).metadata()).width, WIDTH, 'colour mosaic');
    const manifest = JSON.parse(await readFile(String(summary.outputs['manifest']), 'utf8')) as { indices: string[]; expression: unknown; stats: Record<string, { validPixels: number }> };
    assert.deepEqual(manifest.indices, ['expr']);
    assert.deepEqual(manifest.expression, { text, bands, range: range ?? [-1, 1] });
    assert.equal(manifest.stats['expr']?.validPixels, expected.filter((code) => code !== 0).length);
  });
}

test('NDVI beside an expression is byte for byte the NDVI computed alone', async () => {
  const alone = await run(['--index', 'ndvi'], 'ndvi-alone');
  const beside = await run(['--index', 'ndvi', '--expression', 'nir - red', '--range=-0.5,0.5'], 'ndvi-beside');
  const png = (summary: Summary): string => {
    const files = summary.outputs['ndvi'];
    assert.ok(typeof files === 'object');
    return files.png;
  };
  assert.ok((await readFile(png(alone))).equals(await readFile(png(beside))), 'ndvi.png identical');
  assert.ok(typeof beside.outputs['expr'] === 'object', 'and the expression written too');
});
