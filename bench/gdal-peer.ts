/**
 * The GDAL peer: the pipeline a user would script with GDAL's command line for what one tessera
 * request does — per index the 8-bit codes (same formula, same no-data rule) and a colour-map PNG:
 *
 *   1. bring B11 (20 m) onto the 10 m grid — `gdalwarp -tr 10 10 -r near -te <10 m extent>` (the
 *      usual recipe; writes a 10 m GeoTIFF), or with `b11: 'vrt'` a virtual upsampling
 *      (`gdal_translate -of VRT -outsize`), which costs nothing up front and is read on the fly;
 *   2. `gdal_calc.py` for NDVI (B08, B04) and for NDSI (B03, B11 at 10 m): Byte codes, no-data 0, the
 *      colour table of tessera's own ramp attached;
 *   3. `gdal_translate -of PNG` of each (a paletted PNG with a world file).
 *
 * Each step runs under the process sampler: wall time, CPU seconds and peak RSS per GDAL process.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { colourRamp } from '../master/output/colour-ramp.js';
import { INDEX_FORMULAS, type BuiltInIndex, type IndexName } from '../shared/types.js';
import { runSampled, succeeded, type SampledRun } from './sampled-run.js';
import type { SceneFiles } from './scene/scene-cache.js';

export type B11Resampling = 'warp' | 'vrt';

export interface GdalStep {
  readonly name: string;
  readonly run: SampledRun;
}

export interface GdalPeerResult {
  readonly steps: readonly GdalStep[];
  /** Sum of the steps' wall times (they run one after another). */
  readonly wallMs: number;
  readonly ok: boolean;
  /** Per index: the Byte GeoTIFF of codes (with its colour table) and the PNG made from it. */
  readonly outputs: Readonly<Partial<Record<IndexName, { readonly tif: string; readonly png: string }>>>;
}

export type GdalAvailability = { readonly available: true; readonly version: string; readonly python: string } | { readonly available: false; readonly reason: string };

const TOOLS = ['gdalinfo', 'gdalwarp', 'gdal_translate', 'gdal_calc.py'];

function which(tool: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Is GDAL's command line there, and which Python runs gdal_calc.py (its shebang; GDAL's own Python)? */
export function findGdal(): GdalAvailability {
  const missing = TOOLS.filter((tool) => !which(tool));
  if (missing.length > 0) return { available: false, reason: `not on the PATH: ${missing.join(', ')}` };
  const version = execFileSync('gdalinfo', ['--version'], { encoding: 'utf8' }).trim();
  const shebang = /^#!\s*(\S+)/.exec(readFileSync(which('gdal_calc.py') ?? '', 'utf8').split('\n', 1)[0] ?? '');
  const python = shebang?.[1] && !shebang[1].endsWith('/env') ? shebang[1] : '/usr/bin/python3';
  return { available: true, version, python };
}

/**
 * gdal_calc.py's expression for tessera's code of (A − B)/(A + B): DN + offset in float32 (as tessera
 * does), the ratio in float32, then 1 + round((clamp(x, −1, 1) + 1) · 127) in float64 (round half up,
 * as floor(x + 0.5); numpy's round would go half to even), 0 where an input is 0 or the denominator ≤ 0.
 */
export function codeExpression(reflectanceOffset: number): string {
  const a = `(A.astype(float32) + (${reflectanceOffset}))`;
  const b = `(B.astype(float32) + (${reflectanceOffset}))`;
  return `where((A == 0) | (B == 0) | (${a} + ${b} <= 0), 0, 1 + floor((clip((${a} - ${b}) / (${a} + ${b}), -1, 1).astype(float64) + 1) * 127 + 0.5))`;
}

/** A GDAL text colour table (code r g b a per line) of tessera's ramp for `index`. */
function colourTable(index: IndexName): string {
  const lut = colourRamp(index);
  return Array.from({ length: 256 }, (_, code) => `${code} ${[0, 1, 2, 3].map((c) => lut[code * 4 + c] ?? 0).join(' ')}`).join('\n') + '\n';
}

export interface GdalPeerOptions {
  readonly b11: B11Resampling;
  readonly indices: readonly BuiltInIndex[];
  readonly reflectanceOffset: number;
  readonly log: (message: string) => void;
}

export async function runGdalPeer(scene: SceneFiles, outDir: string, options: GdalPeerOptions): Promise<GdalPeerResult> {
  await mkdir(outDir, { recursive: true });
  const { spec } = scene;
  const steps: GdalStep[] = [];
  const step = async (name: string, command: string, args: readonly string[]): Promise<boolean> => {
    options.log(`gdal: ${name} …`);
    const run = await runSampled({ command, args });
    steps.push({ name, run });
    const cpu = run.processes.reduce((sum, p) => sum + p.cpuSeconds, 0);
    options.log(`gdal: ${name}: ${(run.wallMs / 1000).toFixed(1)} s wall, ${cpu.toFixed(1)} s CPU${succeeded(run) ? '' : ` — FAILED (${run.error ?? `exit ${run.code ?? run.signal}`})\n${run.stderrTail.slice(-2000)}`}`);
    return succeeded(run);
  };

  const bands: Partial<Record<string, string>> = { ...scene.bands };
  const b11 = join(outDir, options.b11 === 'warp' ? 'B11_10m.tif' : 'B11_10m.vrt');
  const extent = [spec.origin.x, spec.origin.y - spec.height * 10, spec.origin.x + spec.width * 10, spec.origin.y].map(String);
  const resampled =
    options.b11 === 'warp'
      ? await step('B11 to 10 m (gdalwarp -r near)', 'gdalwarp', ['-overwrite', '-r', 'near', '-tr', '10', '10', '-te', ...extent, scene.bands.swir16, b11])
      : await step('B11 to 10 m (VRT, gdal_translate -outsize)', 'gdal_translate', ['-of', 'VRT', '-r', 'nearest', '-outsize', String(spec.width), String(spec.height), scene.bands.swir16, b11]);
  bands.swir16 = b11;

  const outputs: Partial<Record<IndexName, { tif: string; png: string }>> = {};
  let ok = resampled;
  for (const index of options.indices) {
    if (!ok) break;
    const formula = INDEX_FORMULAS[index];
    if (formula.kind !== 'normalised-difference') throw new Error(`the GDAL peer computes normalised differences only, not ${index}`);
    const { a, b } = formula;
    const [fileA, fileB] = [bands[a], bands[b]];
    if (fileA === undefined || fileB === undefined) throw new Error(`the scene has no ${fileA === undefined ? a : b} band for ${index}`);
    const tif = join(outDir, `${index}.tif`);
    const png = join(outDir, `${index}.png`);
    const table = join(outDir, `${index}.colours.txt`);
    await writeFile(table, colourTable(index));
    ok =
      (await step(`${index}: gdal_calc.py`, 'gdal_calc.py', [
        '-A', fileA,
        '-B', fileB,
        `--outfile=${tif}`,
        '--type=Byte',
        '--NoDataValue=0',
        `--color-table=${table}`,
        `--calc=${codeExpression(options.reflectanceOffset)}`,
        '--overwrite',
        '--quiet',
      ])) && (await step(`${index}: gdal_translate -of PNG`, 'gdal_translate', ['-of', 'PNG', '-co', 'WORLDFILE=YES', tif, png]));
    if (ok) outputs[index] = { tif, png };
  }
  return { steps, wallMs: steps.reduce((sum, s) => sum + s.run.wallMs, 0), ok, outputs };
}
