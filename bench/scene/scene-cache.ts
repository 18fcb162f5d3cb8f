/**
 * Each scene is built once into a cache folder (default bench/.cache/, or TESSERA_BENCH_CACHE), in a
 * subfolder named after the scene and a stamp of everything that decides its bytes (the spec and the
 * generator's code), so a changed generator builds afresh and the stale copy is removed.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../../shared/package-root.js';
import type { SceneBand } from './spec.js';
import { bandFile, buildSceneFiles } from './build-scene.js';
import type { SceneSpec } from './spec.js';

/** The modules whose code decides a scene's bytes (paths relative to this one). */
const GENERATOR_MODULES = [
  './spec.js',
  './ground.js',
  './render.js',
  './block-row.js',
  '../../test/support/prng.js',
  '../../test/support/tiff-entries.js',
  '../../test/support/tiff-layout.js',
  '../../test/support/tiff-file-writer.js',
];

export interface SceneFiles {
  readonly spec: SceneSpec;
  readonly dir: string;
  readonly stamp: string;
  /** File path per STAC band name. */
  readonly bands: Readonly<Record<SceneBand, string>>;
  /** File size per band id (B03 …). */
  readonly bytes: Readonly<Record<string, number>>;
  readonly totalBytes: number;
  /** How long the build took (when it was built, maybe earlier). */
  readonly buildSeconds: number;
  readonly builtAt: string;
}

export function defaultCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env['TESSERA_BENCH_CACHE'] || join(packageRoot(), 'bench', '.cache');
}

/** 12 hex digits over the spec and the generator's code. */
export function sceneStamp(spec: SceneSpec): string {
  const hash = createHash('sha256').update(JSON.stringify(spec));
  for (const module of GENERATOR_MODULES) hash.update(readFileSync(fileURLToPath(new URL(module, import.meta.url))));
  return hash.digest('hex').slice(0, 12);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Other stamps of this scene, and partial builds whose builder is gone. */
async function removeStale(root: string, spec: SceneSpec, keep: string, log: (message: string) => void): Promise<void> {
  const escaped = spec.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`^${escaped}-[0-9a-f]{12}(?:\\.partial-(\\d+))?$`);
  for (const entry of await readdir(root)) {
    const match = pattern.exec(entry);
    if (!match || entry === keep || (match[1] && isAlive(Number(match[1])))) continue;
    log(`scene ${spec.name}: removing stale ${join(root, entry)}`);
    await rm(join(root, entry), { recursive: true, force: true });
  }
}

async function readCached(dir: string): Promise<SceneFiles | undefined> {
  const marker = join(dir, 'scene.json');
  if (!existsSync(marker)) return undefined;
  const scene = JSON.parse(await readFile(marker, 'utf8')) as SceneFiles;
  for (const band of scene.spec.bands) {
    const size = await stat(join(dir, bandFile(band))).then((s) => s.size, () => -1);
    if (size !== scene.bytes[band.id]) return undefined;
  }
  return { ...scene, dir, bands: Object.fromEntries(scene.spec.bands.map((b) => [b.stac, join(dir, bandFile(b))])) as SceneFiles['bands'] };
}

export interface EnsureOptions {
  readonly cacheRoot?: string;
  readonly threads?: number;
  readonly log: (message: string) => void;
}

/** The scene's files: from the cache, or built now (and cached). */
export async function ensureScene(spec: SceneSpec, options: EnsureOptions): Promise<SceneFiles> {
  const root = options.cacheRoot ?? defaultCacheRoot();
  const stamp = sceneStamp(spec);
  const name = `${spec.name}-${stamp}`;
  const dir = join(root, name);
  const cached = await readCached(dir);
  const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(0)} MB`;
  if (cached) {
    options.log(`scene ${spec.name}: cached in ${dir} (${mb(cached.totalBytes)}, built ${cached.builtAt} in ${cached.buildSeconds.toFixed(0)} s)`);
    return cached;
  }
  await mkdir(root, { recursive: true });
  await removeStale(root, spec, name, options.log);
  const partial = `${dir}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial);
  options.log(`scene ${spec.name}: building ${spec.width}×${spec.height} px (10 m) into ${dir} …`);
  const started = performance.now();
  try {
    const bytes = await buildSceneFiles(spec, partial, { log: options.log, ...(options.threads ? { threads: options.threads } : {}) });
    const totalBytes = Object.values(bytes).reduce((a, b) => a + b, 0);
    const buildSeconds = (performance.now() - started) / 1000;
    const record = { spec, stamp, bytes, totalBytes, buildSeconds, builtAt: new Date().toISOString() };
    await writeFile(join(partial, 'scene.json'), `${JSON.stringify(record, null, 2)}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(partial, dir);
    const sizes = spec.bands.map((b) => `${b.id} ${mb(bytes[b.id] ?? 0)}`).join(', ');
    options.log(`scene ${spec.name}: built in ${buildSeconds.toFixed(1)} s: ${mb(totalBytes)} (${sizes})`);
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }
  const built = await readCached(dir);
  if (!built) throw new Error(`scene ${spec.name}: ${dir} was built but cannot be read back`);
  return built;
}
