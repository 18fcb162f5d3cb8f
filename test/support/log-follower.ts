/**
 * Follows a child process's pino log (JSON lines, e.g. a `tessera master`'s stderr): every line
 * parsed and kept with the time it arrived, and `waitFor` to synchronise a test on a log line
 * instead of sleeping. A line that is not JSON is kept as `{ msg: <the line> }`.
 */
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

export interface LogLine extends Record<string, unknown> {
  /** performance.now() when the line arrived. */
  readonly arrivedAt: number;
}

export interface LogFollower {
  readonly lines: readonly LogLine[];
  /** The first line (already seen, or still to come) matching `match`; rejects after timeoutMs. */
  waitFor(match: (line: LogLine) => boolean, what: string, timeoutMs: number): Promise<LogLine>;
}

export function followJsonLog(stream: Readable): LogFollower {
  const lines: LogLine[] = [];
  const waiters = new Set<(line: LogLine) => void>();
  createInterface({ input: stream }).on('line', (text) => {
    let parsed: Record<string, unknown>;
    try {
      const value: unknown = JSON.parse(text);
      parsed = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : { msg: text };
    } catch {
      parsed = { msg: text };
    }
    const line: LogLine = { ...parsed, arrivedAt: performance.now() };
    lines.push(line);
    for (const waiter of [...waiters]) waiter(line);
  });
  return {
    lines,
    waitFor(match, what, timeoutMs) {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = (line: LogLine): void => {
          if (!match(line)) return;
          finish();
          resolve(line);
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`no log line for ${what} within ${timeoutMs} ms; last lines:\n${lines.slice(-10).map((l) => JSON.stringify(l)).join('\n')}`));
        }, timeoutMs);
        const finish = (): void => {
          clearTimeout(timer);
          waiters.delete(waiter);
        };
        waiters.add(waiter);
      });
    },
  };
}
