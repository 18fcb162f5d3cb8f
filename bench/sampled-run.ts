/** Runs a command to its end under the process sampler: exit status, output, wall time, per-process figures. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseStat } from './proc-parse.js';
import { ProcessSampler, clockTicksPerSecond, type ProcessRecord, type RoleOf } from './process-sampler.js';

export interface SampledRunOptions {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly roleOf?: RoleOf;
  /** Killed (SIGKILL, whole group) after this long; default: no limit. */
  readonly timeoutMs?: number;
}

export interface SampledRun {
  readonly command: string;
  readonly args: readonly string[];
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Spawn to exit, as seen from here. */
  readonly wallMs: number;
  readonly stdout: string;
  /** The last 16 KB of stderr. */
  readonly stderrTail: string;
  /** Could not start (ENOENT …) or timed out. */
  readonly error: string | null;
  readonly processes: readonly ProcessRecord[];
  /**
   * CPU seconds of the whole tree by the kernel's own accounting: what this process's children's CPU
   * (cutime + cstime) grew by while the command ran. Exact, if every process in the tree was waited for
   * and nothing else this process started ended meanwhile; null where /proc cannot tell.
   */
  readonly treeCpuSeconds: number | null;
}

function reapedChildrenTicks(): number | null {
  try {
    return parseStat(readFileSync('/proc/self/stat', 'utf8')).childrenTicks;
  } catch {
    return null;
  }
}

const TAIL = 16 * 1024;

export function succeeded(run: SampledRun): boolean {
  return run.code === 0 && run.error === null;
}

export function totalCpuSeconds(processes: readonly ProcessRecord[]): number {
  return processes.reduce((sum, p) => sum + p.cpuSeconds, 0);
}

export function maxPeakRssBytes(processes: readonly ProcessRecord[]): number {
  return processes.reduce((max, p) => Math.max(max, p.peakRssBytes), 0);
}

export function runSampled(options: SampledRunOptions): Promise<SampledRun> {
  return new Promise((resolve) => {
    const started = performance.now();
    const ticksBefore = reapedChildrenTicks();
    // Same process group as this one: a Ctrl-C reaches the command too (tessera cleans up on SIGINT).
    const child = spawn(options.command, options.args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let error: string | null = null;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-TAIL);
    });
    const sampler = child.pid === undefined ? undefined : new ProcessSampler(child.pid, options.roleOf ? { roleOf: options.roleOf } : {});
    sampler?.start();
    let report: readonly ProcessRecord[] | undefined;
    const stopSampling = (): readonly ProcessRecord[] => (report ??= sampler?.stop().processes ?? []);
    const timers: NodeJS.Timeout[] = [];
    if (options.timeoutMs !== undefined) {
      const limit = options.timeoutMs;
      timers.push(
        setTimeout(() => {
          error = `timed out after ${(limit / 1000).toFixed(0)} s`;
          child.kill('SIGTERM');
          timers.push(setTimeout(() => child.kill('SIGKILL'), 10_000));
        }, limit),
      );
    }
    let finished = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (finished) return;
      finished = true;
      timers.forEach(clearTimeout);
      const wallMs = performance.now() - started;
      const ticksAfter = reapedChildrenTicks();
      const treeCpuSeconds = ticksBefore === null || ticksAfter === null ? null : (ticksAfter - ticksBefore) / clockTicksPerSecond();
      resolve({ command: options.command, args: options.args, code, signal, wallMs, stdout, stderrTail: stderr, error, processes: stopSampling(), treeCpuSeconds });
    };
    // 'exit' comes (the root already reaped) before the streams close: stop sampling there.
    child.once('exit', () => stopSampling());
    child.once('close', finish);
    child.once('error', (e) => {
      error = e.message;
      if (child.pid === undefined) finish(null, null); // never started: no 'close' to wait for
    });
  });
}
