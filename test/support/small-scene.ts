/**
 * A small four-band scene (red, nir, green, swir16; uint16, DEFLATE + predictor 2, 64-px tiles) and
 * `tessera run` over it (2 workers unless told), NDVI + NDSI in strips of 64 rows: for tests that compare
 * two ways of moving the same data (DIRECT_READS, DIRECT_WRITES) by their outputs' bytes.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lastJsonLine, runCli } from './cli.js';
import { writeGeoTiff } from './tiff-writer.js';

/** Writes the scene's band files into `dir`; resolves to their paths by band name. */
export async function writeSmallScene(dir: string, size: number): Promise<Record<string, string>> {
  const bands: Record<string, string> = {};
  for (const [name, seed] of [['red', 7], ['nir', 11], ['green', 5], ['swir16', 3]] as const) {
    const values = Array.from({ length: size * size }, (_, i) => 100 + ((i * seed * 7919) % 8000));
    const path = join(dir, `${name}.tif`);
    await writeFile(path, writeGeoTiff({ width: size, height: size, sampleType: 'uint16', samples: [values], crs: { epsg: 32633 }, origin: { x: 400_000, y: 5_000_000 }, pixelSize: 10, tileSize: 64, compression: 8, predictor: 2 }));
    bands[name] = path;
  }
  return bands;
}

/** `tessera run` over `bands` into `out` with `env` and `workers` workers; resolves to the published output folder and what the run logged (asserts it succeeded). */
export async function runSmallScene(bands: Readonly<Record<string, string>>, out: string, env: NodeJS.ProcessEnv = {}, label = out, workers = 2): Promise<{ readonly outputDir: string; readonly stderr: string }> {
  const args = ['run', '--workers', String(workers), '--strip-rows', '64', '--index', 'ndvi,ndsi', '--out', out, '--json'];
  for (const [name, path] of Object.entries(bands)) args.push('--band', `${name}=${path}`);
  const result = await runCli(args, env);
  assert.equal(result.code, 0, `${label}: ${result.stderr}`);
  return { outputDir: lastJsonLine<{ outputDir: string }>(result.stdout).outputDir, stderr: result.stderr };
}
