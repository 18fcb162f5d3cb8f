/**
 * SCL cloud masking through `tessera run` on generated Sentinel-2-like files: a 20 m scl band of
 * every class beside 10 m red, nir, green and a 20 m swir16. With the default classes, cloud,
 * shadow, cirrus, saturated and no-data pixels become code 0 in NDVI and NDSI while snow (11) and
 * the rest keep their codes (an independent per-pixel computation), and the manifest counts the
 * masked pixels; --mask-classes picks other classes; --no-mask leaves every pixel as without an scl
 * band and does not ship scl to the workers; a STAC item's scl asset masks by default.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
type Band = 'red' | 'nir' | 'green' | 'swir16' | 'scl';
const PIXEL: Record<Band, number> = { red: 10, nir: 10, green: 10, swir16: 20, scl: 20 };
const DEFAULT_CLASSES = [0, 1, 3, 8, 9, 10];
/** Every class, vegetation (4), bare soil (5) and snow (11) more often. */
const CLASS_POOL = [0, 1, 2, 3, 4, 4, 4, 5, 5, 6, 7, 8, 9, 10, 11, 11, 11];

let folder: string;
let scene: SyntheticBands<Band>;

before(async () => {
  folder = await mkdtemp(join(tmpdir(), 'tessera-scl-mask-'));
  const random = prng(31);
  const values = (band: Band, width: number, height: number): Uint8Array | Uint16Array =>
    band === 'scl'
      ? Uint8Array.from({ length: width * height }, () => CLASS_POOL[Math.floor(random() * CLASS_POOL.length)] ?? 4)
      : Uint16Array.from({ length: width * height }, (_, i) => (i < width ? 0 : 1000 + Math.floor(random() * 5000)));
  scene = await writeSyntheticBands({ folder, width: WIDTH, height: HEIGHT, pixel: PIXEL, values });
});
after(async () => {
  if (folder) await rm(folder, { recursive: true, force: true });
});

const PAIRS = { ndvi: ['nir', 'red'], ndsi: ['green', 'swir16'] } as const;

/** The codes of `index` unmasked, by the independent computation. */
function reference(index: keyof typeof PAIRS): Uint8Array {
  const [a, b] = PAIRS[index];
  return Uint8Array.from({ length: WIDTH * HEIGHT }, (_, i) => referenceCode(scene.valueAt(a, i % WIDTH, Math.floor(i / WIDTH)), scene.valueAt(b, i % WIDTH, Math.floor(i / WIDTH)), OFFSET, 0, 0));
}

function sclAt(i: number): number {
  return scene.valueAt('scl', i % WIDTH, Math.floor(i / WIDTH));
}

interface Run {
  readonly codes: Record<'ndvi' | 'ndsi', Uint8Array>;
  readonly pngs: Record<'ndvi' | 'ndsi', Buffer>;
  readonly manifest: {
    inputs: { name: string }[];
    mask?: { band: string; classes: number[]; maskedPixels: number };
    stats: Record<string, { validPixels: number; maskedPixels?: number }>;
    tiles: { payloadBytes: number };
  };
}

async function run(out: string, args: readonly string[], bands: readonly Band[] = ['red', 'nir', 'green', 'swir16', 'scl']): Promise<Run> {
  const given = args.includes('stac') ? [] : bands.map((band) => `--band=${band}=${join(folder, `${band}.tif`)}`);
  const result = await runCli(['run', ...given, '--index', 'ndvi,ndsi', '--reflectance-offset', String(OFFSET), ...args, '--workers', '1', '--out', join(folder, out), '--json']);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const summary = lastJsonLine<{ outputs: Record<string, { png: string } | string> }>(result.stdout);
  const read = async (index: 'ndvi' | 'ndsi'): Promise<[Uint8Array, Buffer]> => {
    const files = summary.outputs[index];
    assert.ok(typeof files === 'object', `${index} written`);
    const { data } = await sharp(files.png).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    return [new Uint8Array(data), await readFile(files.png)];
  };
  const [[ndvi, ndviPng], [ndsi, ndsiPng]] = await Promise.all([read('ndvi'), read('ndsi')]);
  const manifest = JSON.parse(await readFile(String(summary.outputs['manifest']), 'utf8')) as Run['manifest'];
  return { codes: { ndvi, ndsi }, pngs: { ndvi: ndviPng, ndsi: ndsiPng }, manifest };
}

function assertMasked(result: Run, classes: readonly number[]): void {
  const masked = (i: number): boolean => classes.includes(sclAt(i));
  const count = Array.from({ length: WIDTH * HEIGHT }, (_, i) => i).filter(masked).length;
  assert.ok(count > 0 && count < WIDTH * HEIGHT / 2, `the test masks some pixels (${count})`);
  for (const index of ['ndvi', 'ndsi'] as const) {
    const expected = reference(index).map((code, i) => (masked(i) ? 0 : code));
    const agreement = compareCodes(result.codes[index], expected);
    assert.equal(agreement.nodataMismatches, 0, `${index}: exactly the masked and no-data pixels are 0`);
    assert.equal(agreement.withinOne, agreement.total, `${index}: every other code within ±1`);
    assert.equal(result.manifest.stats[index]?.maskedPixels, count, `${index}: the masked count in the stats`);
    assert.equal(result.manifest.stats[index]?.validPixels, expected.filter((code) => code !== 0).length, `${index}: valid pixels without the masked ones`);
  }
  assert.deepEqual(result.manifest.mask, { band: 'scl', classes: [...classes].sort((a, b) => a - b), maskedPixels: count });
}

test('the default classes: clouds, shadow, cirrus, saturated and no-data become 0; snow keeps its NDSI', async () => {
  const result = await run('default', []);
  assertMasked(result, DEFAULT_CLASSES);
  const ndsi = reference('ndsi');
  const snow = Array.from({ length: WIDTH * HEIGHT }, (_, i) => i).filter((i) => sclAt(i) === 11 && ndsi[i] !== 0);
  assert.ok(snow.length > 100, 'the test has snow pixels');
  assert.ok(snow.every((i) => Math.abs((result.codes.ndsi[i] ?? 0) - (ndsi[i] ?? 0)) <= 1 && result.codes.ndsi[i] !== 0), 'snow pixels keep their NDSI');
  const clouds = Array.from({ length: WIDTH * HEIGHT }, (_, i) => i).filter((i) => [3, 8, 9, 10].includes(sclAt(i)));
  assert.ok(clouds.length > 100 && clouds.every((i) => result.codes.ndvi[i] === 0 && result.codes.ndsi[i] === 0), 'cloud and shadow pixels are 0 in both');
});

test('--mask-classes picks the classes', async () => {
  assertMasked(await run('only-9', ['--mask-classes', '9,3']), [3, 9]);
});

test('--no-mask: every pixel as without an scl band, and scl is not shipped', async () => {
  const [unmasked, without] = [await run('no-mask', ['--no-mask']), await run('no-scl', [], ['red', 'nir', 'green', 'swir16'])];
  for (const index of ['ndvi', 'ndsi'] as const) assert.ok(unmasked.pngs[index].equals(without.pngs[index]), `${index}.png byte-identical`);
  assert.equal(unmasked.manifest.mask, undefined);
  assert.equal(unmasked.manifest.stats['ndvi']?.maskedPixels, undefined);
  assert.deepEqual(unmasked.manifest.inputs.map((input) => input.name), ['red', 'nir', 'green', 'swir16'], 'scl not read');
  assert.equal(unmasked.manifest.tiles.payloadBytes, without.manifest.tiles.payloadBytes, 'no byte of scl shipped');
});

test('a STAC item with an scl asset masks by the default classes', async () => {
  const item = {
    type: 'Feature',
    stac_version: '1.0.0',
    id: 'S2B_T33_MASKED',
    properties: { datetime: '2024-07-04T10:15:59Z', platform: 'sentinel-2b', 's2:processing_baseline': '05.10' },
    assets: Object.fromEntries((Object.keys(PIXEL) as Band[]).map((band) => [band === 'scl' ? 'SCL' : band, { href: `../${band}.tif` }])),
  };
  await mkdir(join(folder, 'items'), { recursive: true });
  await writeFile(join(folder, 'items', 'item.json'), JSON.stringify(item));
  const [fromItem, fromFiles] = [await run('stac', ['--source', 'stac', '--url', join(folder, 'items', 'item.json')]), await run('files', [])];
  for (const index of ['ndvi', 'ndsi'] as const) assert.ok(fromItem.pngs[index].equals(fromFiles.pngs[index]), `${index}.png as from the band files`);
  assert.deepEqual(fromItem.manifest.mask, fromFiles.manifest.mask);
});
