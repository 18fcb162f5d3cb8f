/**
 * Start-up benchmark (not a test): `node dist/bench/startup.js` after `npm run build` (npm run bench
 * runs it last). Each round, for each tessera tree, in turn:
 * - `tessera master` on the embedded database, cold (a new data folder) then warm (the same folder
 *   again): time to ready, idle RSS and peak RSS (bench/embedded-master-startup.ts);
 * - `tessera run` on the sample (below);
 * - `npm run demo` in the tree, wall time from spawn to exit, as a user types it (on a built tree it
 *   must not rebuild).
 * RUNS rounds (default 5); every figure is also given as the median of the rounds.
 *
 * `tessera run` runs on the bundled sample (red = band 3, nir = band 4, NDVI, 2 workers) RUNS times
 * (default 5) as a user would, from spawn to exit, and prints a Markdown table: wall time, and the
 * peak resident memory (VmHWM in /proc/<pid>/status, sampled every SAMPLE_MS while the run lives) of
 * the run process (the master) and of its largest child (a worker), plus the medians.
 *
 * VmHWM only grows, so the last sample of a process is its peak up to then; growth in the few ms
 * between that sample and its exit is missed (the run's peak is while it processes, not as it exits).
 *
 * BENCH_ROOTS (default: this package) is a comma-separated list of tessera package folders, each
 * with its own compiled dist/: their runs are interleaved (A B A B …) so that a machine whose load
 * changes meanwhile weighs on each alike, and each gets its own table.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NODE_FLAGS } from '../cli/node-flags.js';
import { packageRoot } from '../shared/package-root.js';
import { masterTable, median, startMasterOnce, type MasterStart } from './embedded-master-startup.js';

const RUNS = Number(process.env['RUNS'] ?? 5);
const SAMPLE_MS = Number(process.env['SAMPLE_MS'] ?? 10);
/** How long the master idles after it is ready before its RSS is read. */
const IDLE_MS = Number(process.env['IDLE_MS'] ?? 2000);
const WORKERS = 2;

interface RunFigures {
  readonly wallMs: number;
  /** Peak RSS of the `tessera run` process itself (the master), in kB. */
  readonly masterKb: number;
  /** Peak RSS of its largest descendant (a worker), in kB. */
  readonly childKb: number;
}

/** The VmHWM of `pid` in kB, or undefined once it is gone. */
async function peakKb(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const match = status?.match(/^VmHWM:\s+(\d+) kB$/m);
  return match ? Number(match[1]) : undefined;
}

/** Every live descendant of `pid` (children of each of its threads, recursively). */
async function descendants(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const children: number[] = [];
  for (const task of tasks) {
    const listed = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '');
    for (const word of listed.split(' ')) if (word.trim()) children.push(Number(word));
  }
  const below = await Promise.all(children.map((child) => descendants(child)));
  return [...children, ...below.flat()];
}

async function runOnce(root: string, outDir: string): Promise<RunFigures> {
  const sample = join(root, 'samples', 'L7_ETMs.tif');
  const args = [
    ...NODE_FLAGS, // as bin.js's #! line starts it
    join(root, 'dist', 'cli', 'bin.js'),
    'run',
    '--band',
    `red=${sample}#3`,
    '--band',
    `nir=${sample}#4`,
    '--index',
    'ndvi',
    '--workers',
    String(WORKERS),
    '--out',
    outDir,
    '--json',
  ];
  const started = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn' } });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start tessera run');
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  let masterKb = 0;
  const childPeaks = new Map<number, number>();
  let running = true;
  const sampling = (async () => {
    while (running) {
      masterKb = Math.max(masterKb, (await peakKb(pid)) ?? 0);
      for (const descendant of await descendants(pid)) {
        const kb = await peakKb(descendant);
        if (kb !== undefined) childPeaks.set(descendant, Math.max(childPeaks.get(descendant) ?? 0, kb));
      }
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
    }
  })();
  const code = await exited;
  const wallMs = performance.now() - started;
  running = false;
  await sampling;
  const lastLine = stdout.trim().split('\n').at(-1) ?? '';
  const status = code === 0 ? (JSON.parse(lastLine) as { status?: string }).status : undefined;
  if (status !== 'completed') throw new Error(`tessera run exited ${code} (status ${status}):\n${stderr}`);
  return { wallMs, masterKb, childKb: Math.max(0, ...childPeaks.values()) };
}

const mb = (kb: number): string => (kb / 1024).toFixed(0);

function table(root: string, runs: readonly RunFigures[]): string[] {
  return [
    `\`tessera run\` from ${root} on samples/L7_ETMs.tif (red #3, nir #4, NDVI, ${WORKERS} workers); peak RSS = VmHWM from /proc, sampled every ${SAMPLE_MS} ms`,
    '',
    '| run | wall | master peak RSS | largest worker peak RSS | largest process |',
    '|---|---|---|---|---|',
    ...runs.map(
      (r, i) =>
        `| ${i + 1} | ${(r.wallMs / 1000).toFixed(2)} s | ${mb(r.masterKb)} MB | ${mb(r.childKb)} MB | ${mb(Math.max(r.masterKb, r.childKb))} MB |`,
    ),
    `| **median of ${runs.length}** | **${(median(runs.map((r) => r.wallMs)) / 1000).toFixed(2)} s** | **${mb(median(runs.map((r) => r.masterKb)))} MB** | ` +
      `**${mb(median(runs.map((r) => r.childKb)))} MB** | **${mb(median(runs.map((r) => Math.max(r.masterKb, r.childKb))))} MB** |`,
    '',
  ];
}

/** `npm run demo -- --out <dir>` in `root`: wall time from spawn to exit 0. */
async function demoOnce(root: string, outDir: string): Promise<number> {
  const started = performance.now();
  const child = spawn('npm', ['run', 'demo', '--silent', '--', '--out', outDir], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
  if (code !== 0) throw new Error(`npm run demo in ${root} exited ${code}:\n${stderr}`);
  return performance.now() - started;
}

function demoTable(root: string, wallMs: readonly number[]): string[] {
  return [
    `\`npm run demo\` in ${root}, spawn to exit: ${wallMs.map((ms) => `${(ms / 1000).toFixed(2)} s`).join(', ')}; ` +
      `**median ${(median(wallMs) / 1000).toFixed(2)} s**`,
    '',
  ];
}

const roots = (process.env['BENCH_ROOTS'] ?? packageRoot()).split(',').filter((root) => root.trim() !== '');
const dir = await mkdtemp(join(tmpdir(), 'tessera-bench-startup-'));
try {
  const cold = roots.map((): MasterStart[] => []);
  const warm = roots.map((): MasterStart[] => []);
  const runs = roots.map((): RunFigures[] => []);
  const demos = roots.map((): number[] => []);
  for (let i = 0; i < RUNS; i += 1) {
    for (const [r, root] of roots.entries()) {
      const dataDir = join(dir, `data-${r}-${i}`);
      cold[r]!.push(await startMasterOnce(root, dataDir, join(dir, 'master-out'), IDLE_MS));
      warm[r]!.push(await startMasterOnce(root, dataDir, join(dir, 'master-out'), IDLE_MS));
      runs[r]!.push(await runOnce(root, join(dir, `out-${r}-${i}`)));
      demos[r]!.push(await demoOnce(root, join(dir, `demo-${r}-${i}`)));
    }
  }
  const report = roots.flatMap((root, r) => [
    ...masterTable(root, cold[r]!, warm[r]!, IDLE_MS),
    ...table(root, runs[r]!),
    ...demoTable(root, demos[r]!),
  ]);
  process.stdout.write(`${report.join('\n')}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
