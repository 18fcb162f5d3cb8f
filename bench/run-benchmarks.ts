/**
 * Benchmarks (not tests): `npm run bench`. Prints a Markdown table of figures.
 *
 * 1. Kernel: one 1024² tile of index math and PNG encoding, as a worker does it.
 * 2. Pipeline: a synthetic Sentinel-2-like scene (3 × 10 m uint16 bands + a 20 m swir16, DEFLATE
 *    with predictor 2) through a real master (embedded database) and real worker processes.
 *    The same pixels are written twice: tiled (the master ships compressed blocks and workers
 *    decode) and striped (the master decodes and ships raw windows). That compares the design's
 *    choice to ship compressed blocks with the alternative.
 *
 * BENCH_SIZE (default 4096) sets the 10 m scene's width and height in pixels.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadMasterConfig } from '../shared/config/master-config.js';
import { createLogger } from '../shared/logger.js';
import { packageRoot } from '../shared/package-root.js';
import { computeIndexTile, encodeCodesPng } from '../shared/raster/index-math.js';
import { startMaster, type RunningMaster } from '../master/start-master.js';
import type { MosaicRequestRow } from '../master/db/request-store.js';
import { writeGeoTiff } from '../test/support/tiff-writer.js';

const SIZE = Number(process.env['BENCH_SIZE'] ?? 4096);
const TILE = 1024;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** A deterministic, field-like texture: smooth structure plus a little noise, like real bands. */
function band(width: number, height: number, seed: number): Uint16Array {
  const values = new Uint16Array(width * height);
  let state = seed;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      state = (state * 1664525 + 1013904223) >>> 0;
      const field = Math.sin((x + seed) / 37) * Math.cos((y - seed) / 53) + Math.sin((x + y) / 211);
      values[y * width + x] = Math.max(1, Math.round(1500 + 900 * field + (state >>> 26)));
    }
  }
  return values;
}

async function kernel(): Promise<string[]> {
  const n = 1024;
  const lookups = Int32Array.from({ length: n }, (_, i) => i);
  const a = { values: band(n, n, 1), windowWidth: n, nodata: null, columns: lookups, rows: lookups };
  const b = { values: band(n, n, 2), windowWidth: n, nodata: null, columns: lookups, rows: lookups };
  const compute: number[] = [];
  const encode: number[] = [];
  for (let i = 0; i < 15; i += 1) {
    const t0 = performance.now();
    const { codes } = computeIndexTile({ width: n, height: n, reflectanceOffset: -1000, a, b });
    const t1 = performance.now();
    await encodeCodesPng(codes, n, n);
    const t2 = performance.now();
    if (i >= 5) {
      compute.push(t1 - t0);
      encode.push(t2 - t1);
    }
  }
  return [
    `| kernel: index math, one 1024² tile | ${median(compute).toFixed(1)} ms (${((n * n) / median(compute) / 1000).toFixed(0)} Mpx/s) |`,
    `| kernel: PNG encode, one 1024² tile | ${median(encode).toFixed(1)} ms |`,
  ];
}

interface Scene {
  readonly layout: 'tiled' | 'striped';
  readonly bands: Record<string, string>;
  readonly bytes: number;
}

async function writeScene(dir: string, layout: 'tiled' | 'striped'): Promise<Scene> {
  const origin = { x: 600_000, y: 5_200_000 };
  const common = { sampleType: 'uint16' as const, compression: 8 as const, predictor: 2 as const, crs: { epsg: 32633 }, origin, nodata: 0 };
  const blocks = layout === 'tiled' ? { tileSize: 1024 } : { rowsPerStrip: 16 };
  const bands: Record<string, string> = {};
  let bytes = 0;
  for (const [name, seed, size, pixel] of [
    ['red', 3, SIZE, 10],
    ['nir', 4, SIZE, 10],
    ['green', 5, SIZE, 10],
    ['swir16', 6, SIZE / 2, 20],
  ] as const) {
    const path = join(dir, `${layout}_${name}.tif`);
    const data = writeGeoTiff({ ...common, ...blocks, width: size, height: size, pixelSize: pixel, samples: [band(size, size, seed)] });
    await writeFile(path, data);
    bands[name] = path;
    bytes += data.length;
  }
  return { layout, bands, bytes };
}

function startWorkers(count: number, port: number): ChildProcess[] {
  return Array.from({ length: count }, () =>
    spawn(process.execPath, [join(packageRoot(), 'dist', 'cli', 'bin.js'), 'worker'], {
      env: { ...process.env, MASTER_ADDRESS: `127.0.0.1:${port}`, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
}

async function stopWorkers(children: ChildProcess[]): Promise<void> {
  await Promise.all(children.map((c) => new Promise<void>((done) => (c.exitCode !== null ? done() : (c.once('exit', () => done()), c.kill('SIGTERM'))))));
}

interface RequestRun {
  readonly row: MosaicRequestRow;
  readonly wallMs: number;
  /** CPU time of this process (the master and its embedded database) during the request. */
  readonly masterCpuMs: number;
  readonly manifest: { tiles: { payloadBytes: number } };
}

async function runRequest(master: RunningMaster, scene: Scene): Promise<RequestRun> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const id = await master.store.insert({ bands: scene.bands, indices: ['ndvi', 'ndsi'], stripRows: TILE, reflectanceOffset: -1000 });
  for (;;) {
    const row = await master.store.get(id);
    if (row?.status === 'failed') throw new Error(`benchmark request failed: ${row.error}`);
    if (row?.status === 'completed') {
      const manifest = JSON.parse(await readFile(join(row.outputDir ?? '', 'manifest.json'), 'utf8')) as { tiles: { payloadBytes: number } };
      const used = process.cpuUsage(cpu);
      return { row, wallMs: performance.now() - started, masterCpuMs: (used.user + used.system) / 1000, manifest };
    }
    await sleep(20);
  }
}

async function pipeline(dir: string): Promise<string[]> {
  const scenes = [await writeScene(dir, 'tiled'), await writeScene(dir, 'striped')];
  const config = loadMasterConfig(
    {},
    { embeddedDbDir: join(dir, 'db'), embeddedDbPort: 0, grpcListen: '127.0.0.1:0', outputDir: join(dir, 'out'), logLevel: 'warn' },
  );
  const master = await startMaster(config, createLogger('bench', 'warn'));
  const lines: string[] = [];
  try {
    for (const workers of [1, 2]) {
      for (const scene of scenes) {
        const children = startWorkers(workers, master.grpcPort);
        try {
          const { row, wallMs, masterCpuMs, manifest } = await runRequest(master, scene);
          const timings = row.timings as Record<string, number>;
          const mpx = (SIZE * SIZE) / wallMs / 1000;
          lines.push(
            `| pipeline: ${SIZE}² scene, ${scene.layout} (${scene.layout === 'tiled' ? 'compressed blocks shipped' : 'decoded windows shipped'}), ${workers} worker${workers > 1 ? 's' : ''} | ` +
              `${(wallMs / 1000).toFixed(2)} s (${mpx.toFixed(1)} Mpx/s); master CPU ${(masterCpuMs / 1000).toFixed(2)} s; ` +
              `shipped ${(manifest.tiles.payloadBytes / 1e6).toFixed(0)} MB (files ${(scene.bytes / 1e6).toFixed(0)} MB); merge ${((timings['mergeMs'] ?? 0) / 1000).toFixed(2)} s; ` +
              `workers' decode ${((timings['workerDecodeMs'] ?? 0) / 1000).toFixed(2)} s, compute ${((timings['workerComputeMs'] ?? 0) / 1000).toFixed(2)} s |`,
          );
        } finally {
          await stopWorkers(children);
        }
      }
    }
  } finally {
    await master.stop({ graceful: false, timeoutMs: 2_000 });
  }
  return lines;
}

const dir = await mkdtemp(join(tmpdir(), 'tessera-bench-'));
try {
  const lines = ['| what | figure |', '|---|---|', ...(await kernel()), ...(await pipeline(dir))];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
