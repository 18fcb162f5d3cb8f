/**
 * One `tessera run` of the benchmark request on a scene, under the process sampler: the JSON summary
 * (last stdout line), the request's manifest.json, and a sha256 of every PNG it wrote.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { NODE_FLAGS } from '../cli/node-flags.js';
import { packageRoot } from '../shared/package-root.js';
import type { IndexName } from '../shared/types.js';
import { defaultRole, type ProcessIdentity } from './process-sampler.js';
import { runSampled, succeeded, type SampledRun } from './sampled-run.js';
import type { SceneFiles } from './scene/scene-cache.js';

export interface TesseraRun {
  readonly workers: number;
  readonly run: SampledRun;
  readonly ok: boolean;
  /** Why it is not ok, in a line. */
  readonly failure: string | null;
  readonly summary: Record<string, unknown> | null;
  readonly manifest: Record<string, unknown> | null;
  /** sha256 of each PNG written, by file name (ndvi.png, ndvi_color.png …). */
  readonly pngHashes: Readonly<Record<string, string>>;
  /** The grey (codes) PNG per index. */
  readonly greyPngs: Readonly<Partial<Record<IndexName, string>>>;
}

/** The `tessera run` process is the master (it hosts the embedded database too); its `worker` children the workers. */
export function tesseraRole(identity: ProcessIdentity): string {
  if (identity.isRoot) return 'master';
  if (identity.args.some((arg) => arg.endsWith('bin.js')) && identity.args.includes('worker')) return 'worker';
  return defaultRole(identity);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every string under `value` that ends in .png. */
function pngPaths(value: unknown): string[] {
  if (typeof value === 'string') return value.endsWith('.png') ? [value] : [];
  if (Array.isArray(value)) return value.flatMap(pngPaths);
  return isRecord(value) ? Object.values(value).flatMap(pngPaths) : [];
}

function sha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

function lastJson(stdout: string): Record<string, unknown> | null {
  const last = stdout.trim().split('\n').pop() ?? '';
  try {
    const parsed: unknown = JSON.parse(last);
    return isRecord(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

export interface TesseraRunOptions {
  readonly workers: number;
  readonly indices: readonly IndexName[];
  readonly reflectanceOffset: number;
  readonly outDir: string;
  readonly timeoutMs?: number;
}

export async function runTessera(scene: SceneFiles, options: TesseraRunOptions): Promise<TesseraRun> {
  const { bands } = scene;
  const args = [
    ...NODE_FLAGS, // as bin.js's #! line starts it
    join(packageRoot(), 'dist', 'cli', 'bin.js'),
    'run',
    '--workers', String(options.workers),
    '--band', `red=${bands.red}`,
    '--band', `nir=${bands.nir}`,
    '--band', `green=${bands.green}`,
    '--band', `swir16=${bands.swir16}`,
    '--index', options.indices.join(','),
    `--reflectance-offset=${options.reflectanceOffset}`,
    '--out', options.outDir,
    '--json',
  ];
  const run = await runSampled({ command: process.execPath, args, roleOf: tesseraRole, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) });
  const summary = lastJson(run.stdout);
  const base = { workers: options.workers, run, summary };
  const empty = { manifest: null, pngHashes: {}, greyPngs: {} };
  if (!succeeded(run)) return { ...base, ...empty, ok: false, failure: run.error ?? `exit ${run.code ?? run.signal}` };
  if (!summary || summary['status'] !== 'completed') {
    return { ...base, ...empty, ok: false, failure: `request ${String(summary?.['status'] ?? 'summary missing')}: ${String(summary?.['error'] ?? '')}` };
  }
  const outputs = summary['outputs'];
  const manifestPath = isRecord(outputs) && typeof outputs['manifest'] === 'string' ? outputs['manifest'] : join(String(summary['outputDir']), 'manifest.json');
  const manifest = await readFile(manifestPath, 'utf8').then((text) => JSON.parse(text) as Record<string, unknown>, () => null);
  const pngs = pngPaths(outputs);
  const pngHashes = Object.fromEntries(await Promise.all(pngs.map(async (path) => [basename(path), await sha256(path)] as const)));
  const greyPngs: Partial<Record<IndexName, string>> = {};
  for (const index of options.indices) {
    const entry = isRecord(outputs) ? outputs[index] : undefined;
    const grey = isRecord(entry) && typeof entry['png'] === 'string' ? entry['png'] : pngs.find((p) => basename(p) === `${index}.png`);
    if (grey) greyPngs[index] = grey;
  }
  return { ...base, manifest, pngHashes, greyPngs, ok: true, failure: null };
}
