/** Parsing Linux /proc files (see proc(5)): pure functions, so they are tested on fixtures. */

export interface ProcStat {
  readonly pid: number;
  /** The executable name, as the kernel keeps it (at most 15 bytes; may hold spaces and parentheses). */
  readonly comm: string;
  readonly state: string;
  readonly ppid: number;
  /** CPU time in clock ticks (sysconf(_SC_CLK_TCK), usually 100 per second). */
  readonly utimeTicks: number;
  readonly stimeTicks: number;
  /** CPU time of its children that have exited and been waited for (and of theirs, recursively). */
  readonly childrenTicks: number;
  /** Clock ticks after boot when the process started: tells a reused pid from the old process. */
  readonly startTicks: number;
}

/**
 * `/proc/<pid>/stat`: "pid (comm) state ppid …". comm can hold anything, ") (" included, so the
 * fields are taken after the *last* ")"; utime, stime and starttime are fields 14, 15 and 22.
 */
export function parseStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc/<pid>/stat line: ${JSON.stringify(text.slice(0, 80))}`);
  const fields = text.slice(close + 2).trim().split(/\s+/);
  // fields[0] is field 3 (state).
  const field = (n: number): number => {
    const value = Number(fields[n - 3]);
    if (!Number.isFinite(value)) throw new Error(`/proc/<pid>/stat: field ${n} is not a number in ${JSON.stringify(text.slice(0, 80))}`);
    return value;
  };
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: fields[0] ?? '?',
    ppid: field(4),
    utimeTicks: field(14),
    stimeTicks: field(15),
    childrenTicks: field(16) + field(17),
    startTicks: field(22),
  };
}

export interface ProcStatus {
  /** Peak resident set size ("high water mark"); null for zombies and kernel threads, which have none. */
  readonly peakRssBytes: number | null;
  readonly rssBytes: number | null;
}

/** `/proc/<pid>/status`: "VmHWM:\t  123456 kB" lines. */
export function parseStatus(text: string): ProcStatus {
  const kb = (key: string): number | null => {
    const match = new RegExp(`^${key}:\\s*(\\d+)\\s*kB\\s*$`, 'm').exec(text);
    return match ? Number(match[1]) * 1024 : null;
  };
  return { peakRssBytes: kb('VmHWM'), rssBytes: kb('VmRSS') };
}

/** `/proc/<pid>/cmdline`: arguments separated (and ended) by NUL bytes; empty for zombies. */
export function parseCmdline(bytes: Uint8Array): string[] {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const args = text.split('\0');
  if (args[args.length - 1] === '') args.pop();
  return args;
}

/** `/proc/<pid>/task/<tid>/children`: space-separated child pids. */
export function parseChildren(text: string): number[] {
  return text
    .split(/\s+/)
    .filter((part) => part !== '')
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}
