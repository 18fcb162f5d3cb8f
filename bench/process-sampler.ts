/**
 * Samples a process tree through /proc: every ~50 ms, the root and all its descendants (found through
 * /proc/<pid>/task/<tid>/children, or by scanning every /proc/<pid>/stat for parent ids where the
 * kernel lacks that file), keeping per process its command line, peak RSS (VmHWM, which the kernel
 * keeps as a high-water mark, so no peak is missed between samples) and CPU seconds (utime + stime).
 * The last values seen before a process exits are kept; CPU used in its final < 50 ms is not seen.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseChildren, parseCmdline, parseStat, parseStatus, type ProcStat } from './proc-parse.js';

export interface ProcessRecord {
  readonly pid: number;
  readonly ppid: number;
  /** A short label: `roleOf`'s answer, e.g. master, worker, gdal_calc.py. */
  readonly role: string;
  /** The command line, shortened to 200 characters. */
  readonly command: string;
  readonly peakRssBytes: number;
  readonly cpuSeconds: number;
  /** When it was first and last seen, in ms after the sampler started. */
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
}

export interface SamplerReport {
  readonly rootPid: number;
  /** From start() to stop(). */
  readonly wallMs: number;
  readonly samples: number;
  /** In the order first seen (the root first). */
  readonly processes: readonly ProcessRecord[];
}

export interface ProcessIdentity {
  readonly pid: number;
  readonly args: readonly string[];
  readonly comm: string;
  readonly isRoot: boolean;
}

export type RoleOf = (process: ProcessIdentity) => string;

export interface SamplerOptions {
  readonly intervalMs?: number;
  readonly roleOf?: RoleOf;
  /** Where proc is mounted (tests point it at a fixture tree). */
  readonly procRoot?: string;
  /** Clock ticks per second (default: `getconf CLK_TCK`, else 100). */
  readonly clockTicks?: number;
}

/** The executable's name; for an interpreter running a script (python3 x.py, node y.js) the script's. */
export function defaultRole({ args, comm }: ProcessIdentity): string {
  const exe = args[0] ? basename(args[0]) : comm;
  if (!/^(python[\d.]*|node|bash|sh)$/.test(exe)) return exe;
  for (const arg of args.slice(1)) {
    if (arg === '-e' || arg === '-c' || arg === '-m' || arg === '-') return exe; // code on the command line
    if (!arg.startsWith('-')) return basename(arg);
  }
  return exe;
}

export function clockTicksPerSecond(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

interface Tracked {
  pid: number;
  ppid: number;
  role: string;
  command: string;
  args: readonly string[];
  peakRssBytes: number;
  cpuTicks: number;
  firstSeenMs: number;
  lastSeenMs: number;
}

export class ProcessSampler {
  readonly #root: number;
  readonly #proc: string;
  readonly #interval: number;
  readonly #ticks: number;
  readonly #roleOf: RoleOf;
  /** By pid and start time, so a reused pid is another process. */
  readonly #tracked = new Map<string, Tracked>();
  #timer: NodeJS.Timeout | undefined;
  #startedAt = performance.now();
  #samples = 0;

  constructor(rootPid: number, options: SamplerOptions = {}) {
    this.#root = rootPid;
    this.#proc = options.procRoot ?? '/proc';
    this.#interval = options.intervalMs ?? 50;
    this.#ticks = options.clockTicks ?? clockTicksPerSecond();
    this.#roleOf = options.roleOf ?? defaultRole;
  }

  start(): void {
    this.#startedAt = performance.now();
    this.sample();
    this.#timer = setInterval(() => this.sample(), this.#interval);
  }

  /** Takes a last sample (the root may be a zombie still) and reports. */
  stop(): SamplerReport {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.sample();
    return this.report();
  }

  report(): SamplerReport {
    return {
      rootPid: this.#root,
      wallMs: performance.now() - this.#startedAt,
      samples: this.#samples,
      processes: [...this.#tracked.values()].map(({ args: _args, cpuTicks, ...rest }) => ({ ...rest, cpuSeconds: cpuTicks / this.#ticks })),
    };
  }

  /** One pass over the tree. */
  sample(): void {
    this.#samples += 1;
    const now = performance.now() - this.#startedAt;
    const seen = new Set<number>();
    const pending = [this.#root];
    let scanned: Map<number, number[]> | undefined;
    for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
      if (seen.has(pid)) continue;
      seen.add(pid);
      const stat = this.#read(`${pid}/stat`, (text) => parseStat(text));
      if (!stat) continue;
      this.#record(stat, now);
      const children = this.#children(pid) ?? (scanned ??= this.#scanParents()).get(pid) ?? [];
      pending.push(...children);
    }
  }

  #record(stat: ProcStat, now: number): void {
    const key = `${stat.pid}:${stat.startTicks}`;
    const args = this.#readBytes(`${stat.pid}/cmdline`, parseCmdline) ?? [];
    const status = this.#read(`${stat.pid}/status`, parseStatus);
    let entry = this.#tracked.get(key);
    if (!entry) {
      entry = { pid: stat.pid, ppid: stat.ppid, role: stat.comm, command: stat.comm, args: [], peakRssBytes: 0, cpuTicks: 0, firstSeenMs: now, lastSeenMs: now };
      this.#tracked.set(key, entry);
    }
    // Zombies have no command line or memory left: keep what was seen last. After an exec the command
    // line changes and VmHWM restarts with the new program, so the latest value is the right one.
    if (args.length > 0 && args.join('\0') !== entry.args.join('\0')) {
      entry.args = args;
      entry.command = args.join(' ').slice(0, 200);
      entry.role = this.#roleOf({ pid: stat.pid, args, comm: stat.comm, isRoot: stat.pid === this.#root });
    }
    if (status?.peakRssBytes != null) entry.peakRssBytes = status.peakRssBytes;
    entry.cpuTicks = Math.max(entry.cpuTicks, stat.utimeTicks + stat.stimeTicks);
    entry.ppid = stat.ppid;
    entry.lastSeenMs = now;
  }

  /** Children from /proc/<pid>/task/<tid>/children; undefined when the kernel has no such file. */
  #children(pid: number): number[] | undefined {
    let tasks: string[];
    try {
      tasks = readdirSync(join(this.#proc, String(pid), 'task'));
    } catch {
      return [];
    }
    const children: number[] = [];
    for (const tid of tasks) {
      try {
        children.push(...parseChildren(readFileSync(join(this.#proc, String(pid), 'task', tid, 'children'), 'utf8')));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' && tid === String(pid)) return undefined;
      }
    }
    return children;
  }

  /** Parent → children, from every process's stat. */
  #scanParents(): Map<number, number[]> {
    const byParent = new Map<number, number[]>();
    for (const name of readdirSync(this.#proc)) {
      if (!/^\d+$/.test(name)) continue;
      const stat = this.#read(`${name}/stat`, parseStat);
      if (stat) byParent.set(stat.ppid, [...(byParent.get(stat.ppid) ?? []), stat.pid]);
    }
    return byParent;
  }

  /** A /proc file parsed, or undefined when the process is gone (or the file unreadable). */
  #read<T>(path: string, parse: (text: string) => T): T | undefined {
    return this.#readBytes(path, (bytes) => parse(Buffer.from(bytes).toString('utf8')));
  }

  #readBytes<T>(path: string, parse: (bytes: Uint8Array) => T): T | undefined {
    try {
      return parse(readFileSync(join(this.#proc, path)));
    } catch {
      return undefined;
    }
  }
}
