/** `tessera demo`: the bundled Landsat 7 sample through the whole pipeline; prints where the PNGs are. */
import type { Command } from 'commander';
import { join } from 'node:path';
import { packageRoot } from '../../shared/package-root.js';
import { formatSummary } from '../request-summary.js';
import { parseWorkerCount } from './run.js';

/** samples/L7_ETMs.tif: band 2 green, 3 red, 4 nir, 5 swir16 (see samples/README.md). */
export function demoRequest(): { source: string; bands: Record<string, string>; indices: string[]; reflectanceOffset: number; stripRows: number } {
  const sample = join(packageRoot(), 'samples', 'L7_ETMs.tif');
  return {
    source: 'sentinel2',
    bands: { green: `${sample}#2`, red: `${sample}#3`, nir: `${sample}#4`, swir16: `${sample}#5` },
    indices: ['ndvi', 'ndsi'],
    reflectanceOffset: 0,
    stripRows: 64, // six strips, so the demo's workers share the work
  };
}

export function demoCommand(program: Command): void {
  program
    .command('demo')
    .description('run the bundled Landsat 7 sample (NDVI + NDSI, strips of 64 rows, 2 workers), no database needed')
    .option('--workers <n>', 'worker processes to start', parseWorkerCount, 2)
    .option('--out <dir>', 'output folder', './output/demo')
    .action(async (options: { workers: number; out: string }) => {
      const { runOneShot } = await import('../one-shot.js'); // master-only dependencies, loaded on use
      const row = await runOneShot({
        request: demoRequest(),
        workers: options.workers,
        outputDir: options.out,
        progress: process.stderr.isTTY === true,
        env: process.env,
      });
      process.stdout.write(`${formatSummary(row)}\n`);
      if (row.status !== 'completed') {
        process.exitCode = 1;
        return;
      }
      const outputs = row.outputs as Record<string, { png?: string; colorPng?: string }>;
      process.stdout.write('\nThe mosaics:\n');
      for (const index of ['ndvi', 'ndsi']) {
        const files = outputs[index];
        if (files?.png) process.stdout.write(`  ${files.png}\n`);
        if (files?.colorPng) process.stdout.write(`  ${files.colorPng}\n`);
      }
    });
}
