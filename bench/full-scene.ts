/**
 * Full-scene benchmark: `node dist/bench/full-scene.js [--scene full|wide|small] [--workers 1,2,3] [--skip-gdal]`
 * (see --help). Builds or loads the cached synthetic Sentinel-2 tile, runs the GDAL peer on it, then
 * `tessera run` once per worker count, each under the process sampler, and prints a Markdown report
 * (stdout; progress on stderr): wall, CPU and peak RSS per process, the master's CPU share, the
 * speed-up over GDAL, the request's own stage figures, whether outputs are identical across worker
 * counts, and how tessera's codes compare with GDAL's.
 */
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../shared/package-root.js';
import type { BuiltInIndex } from '../shared/types.js';
import { USAGE, parseFullSceneArgs, type FullSceneArgs } from './full-scene-args.js';
import { formatReport, type BenchmarkResults } from './full-scene-report.js';
import { crossCheckCodes } from './gdal-cross-check.js';
import { findGdal, runGdalPeer } from './gdal-peer.js';
import { ensureScene, type SceneFiles } from './scene/scene-cache.js';
import { runTessera, type TesseraRun } from './tessera-run.js';

/** The benchmark's job, as issue 7 defines it: NDVI and NDSI with their colour maps. */
const INDICES: readonly BuiltInIndex[] = ['ndvi', 'ndsi'];

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

async function gdalPeer(args: FullSceneArgs, scene: SceneFiles, work: string): Promise<{ result: BenchmarkResults['gdal']; python: string | null; version: string | null }> {
  if (args.skipGdal) return { result: { skipped: '--skip-gdal' }, python: null, version: null };
  const gdal = findGdal();
  if (!gdal.available) {
    log(`GDAL peer skipped: GDAL's command line is not installed (${gdal.reason}); install gdal-bin and python3-gdal to compare`);
    return { result: { skipped: `GDAL not installed (${gdal.reason})` }, python: null, version: null };
  }
  log(`GDAL peer (${gdal.version}), B11 by ${args.b11} …`);
  const result = await runGdalPeer(scene, join(work, 'gdal'), { b11: args.b11, indices: INDICES, reflectanceOffset: scene.spec.reflectanceOffset, log });
  log(`GDAL peer: ${result.ok ? 'done' : 'FAILED'} in ${(result.wallMs / 1000).toFixed(1)} s`);
  return { result, python: gdal.python, version: gdal.version };
}

async function tesseraRuns(args: FullSceneArgs, scene: SceneFiles, work: string): Promise<TesseraRun[]> {
  const runs: TesseraRun[] = [];
  for (const workers of args.workers) {
    log(`tessera run --workers ${workers} …`);
    const run = await runTessera(scene, { workers, indices: INDICES, reflectanceOffset: scene.spec.reflectanceOffset, outDir: join(work, `tessera-${workers}`), timeoutMs: args.timeoutMs });
    if (run.ok) log(`tessera, ${workers} worker(s): ${(run.run.wallMs / 1000).toFixed(1)} s`);
    else log(`tessera, ${workers} worker(s): FAILED (${run.failure ?? ''}) after ${(run.run.wallMs / 1000).toFixed(1)} s; stderr ends:\n${run.run.stderrTail.slice(-4000) || '(empty)'}`);
    runs.push(run);
  }
  return runs;
}

/** tessera's codes against GDAL's: the first good run, and any other whose PNGs differ from it. */
async function crossChecks(gdal: BenchmarkResults['gdal'], python: string | null, runs: readonly TesseraRun[]): Promise<BenchmarkResults['crossChecks']> {
  if (!('steps' in gdal) || !python) return [];
  const ok = runs.filter((r) => r.ok);
  const first = ok[0];
  const toCheck = ok.filter((r) => r === first || JSON.stringify(r.pngHashes) !== JSON.stringify(first?.pngHashes));
  const checks: Array<BenchmarkResults['crossChecks'][number]> = [];
  for (const run of toCheck) {
    for (const index of INDICES) {
      const mine = run.greyPngs[index];
      const theirs = gdal.outputs[index]?.tif;
      if (!mine || !theirs) continue;
      log(`cross-check ${index} (${run.workers} workers) against GDAL …`);
      checks.push({ workers: run.workers, index, result: await crossCheckCodes(python, mine, theirs) });
    }
  }
  return checks;
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let args: FullSceneArgs;
  try {
    args = parseFullSceneArgs(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  if (!existsSync(join(packageRoot(), 'dist', 'cli', 'bin.js'))) {
    process.stderr.write('dist/cli/bin.js is missing: run `npm run build` first\n');
    return 2;
  }
  const scene = await ensureScene(args.spec, { log, ...(args.threads ? { threads: args.threads } : {}) });
  const work = await mkdtemp(join(tmpdir(), 'tessera-full-scene-'));
  const onSignal = (): void => {
    if (!args.keep) rmSync(work, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  try {
    const load = loadavg().map((l) => l.toFixed(1)).join(', ');
    const gdal = await gdalPeer(args, scene, work);
    const tessera = await tesseraRuns(args, scene, work);
    const results: BenchmarkResults = {
      scene,
      machine: `Machine: ${availableParallelism()} cores, load average ${load} at the start; Node ${process.version}${gdal.version ? `; ${gdal.version}` : ''}; ${new Date().toISOString().slice(0, 16)}Z.`,
      gdal: gdal.result,
      tessera,
      crossChecks: await crossChecks(gdal.result, gdal.python, tessera),
    };
    process.stdout.write(formatReport(results));
    const failed = tessera.some((r) => !r.ok) || ('steps' in gdal.result && !gdal.result.ok);
    return failed ? 1 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    if (args.keep) log(`outputs kept in ${work}`);
    else await rm(work, { recursive: true, force: true });
  }
}

process.exitCode = await main(process.argv.slice(2));
