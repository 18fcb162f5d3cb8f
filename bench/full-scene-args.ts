/** Command line of the full-scene benchmark. */
import { parseArgs } from 'node:util';
import type { B11Resampling } from './gdal-peer.js';
import { SCENE_NAMES, parseSceneSize, sceneSpec, type SceneName, type SceneSpec } from './scene/spec.js';

export const USAGE = `usage: node dist/bench/full-scene.js [--scene full|wide|small] [--size N|WxH] [--workers 1,2,3]
                                    [--skip-gdal] [--gdal-b11 warp|vrt] [--threads N] [--timeout-min M] [--keep]
  --scene      full: 10980² (a Sentinel-2 tile, default); wide: 21960×10980; small: 2048² (for developing)
  --size       the 10 m grid of the scene instead (e.g. --scene small --size 4096)
  --workers    tessera runs to make, one per worker count (default 1,2)
  --skip-gdal  no GDAL peer (and no cross-check)
  --gdal-b11   how the peer brings B11 to 10 m: warp (gdalwarp to a GeoTIFF, default) or vrt (virtual)
  --threads    threads building the scene, if it is not cached yet (default: the cores, at most 4)
  --timeout-min  stop a tessera run after this many minutes (default 30)
  --keep       keep the outputs (printed at the end) instead of deleting them
  Scenes are cached in bench/.cache/ (TESSERA_BENCH_CACHE to put them elsewhere).`;

export interface FullSceneArgs {
  readonly spec: SceneSpec;
  readonly workers: readonly number[];
  readonly skipGdal: boolean;
  readonly b11: B11Resampling;
  readonly threads: number | undefined;
  readonly timeoutMs: number;
  readonly keep: boolean;
}

function fail(message: string): never {
  throw new Error(`${message}\n${USAGE}`);
}

export function parseFullSceneArgs(argv: readonly string[]): FullSceneArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      scene: { type: 'string', default: 'full' },
      size: { type: 'string' },
      workers: { type: 'string', default: '1,2' },
      'skip-gdal': { type: 'boolean', default: false },
      'gdal-b11': { type: 'string', default: 'warp' },
      threads: { type: 'string' },
      'timeout-min': { type: 'string', default: '30' },
      keep: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const scene = values.scene ?? 'full';
  if (!(SCENE_NAMES as readonly string[]).includes(scene)) fail(`--scene must be one of ${SCENE_NAMES.join(', ')}`);
  const workers = (values.workers ?? '').split(',').map((part) => Number(part.trim()));
  if (workers.length === 0 || workers.some((n) => !Number.isInteger(n) || n < 1 || n > 64)) fail('--workers must be a list of whole numbers from 1 to 64, e.g. 1,2,3');
  const b11 = values['gdal-b11'];
  if (b11 !== 'warp' && b11 !== 'vrt') fail('--gdal-b11 must be warp or vrt');
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) fail('--threads must be a whole number ≥ 1');
  const timeoutMin = Number(values['timeout-min']);
  if (!(timeoutMin > 0)) fail('--timeout-min must be a positive number');
  let size: { width: number; height: number } | undefined;
  try {
    size = values.size === undefined ? undefined : parseSceneSize(values.size);
  } catch (error) {
    fail((error as Error).message);
  }
  return {
    spec: sceneSpec(scene as SceneName, size),
    workers,
    skipGdal: values['skip-gdal'] ?? false,
    b11,
    threads,
    timeoutMs: timeoutMin * 60_000,
    keep: values.keep ?? false,
  };
}
