/**
 * A pino logger that keeps every line it writes, for tests that check what was (and was not)
 * logged, and wait for a record to appear without polling.
 */
import { pino } from 'pino';
import type { Logger } from '../../shared/logger.js';

export type LogRecord = Record<string, unknown>;

/** A pino logger (trace and up) keeping every line; `seen` resolves once a matching record is written. */
export interface LogCapture {
  readonly logger: Logger;
  readonly lines: string[];
  records(): LogRecord[];
  seen(predicate: (record: LogRecord) => boolean): Promise<LogRecord>;
}

export function captureLog(): LogCapture {
  const lines: string[] = [];
  const waiters: { predicate: (record: LogRecord) => boolean; resolve: (record: LogRecord) => void }[] = [];
  const write = (line: string): void => {
    lines.push(line);
    const record = JSON.parse(line) as LogRecord;
    for (const waiter of [...waiters]) {
      if (!waiter.predicate(record)) continue;
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(record);
    }
  };
  const records = (): LogRecord[] => lines.map((line) => JSON.parse(line) as LogRecord);
  return {
    logger: pino({ level: 'trace' }, { write }),
    lines,
    records,
    seen: (predicate) => {
      const found = records().find(predicate);
      return found ? Promise.resolve(found) : new Promise((resolve) => waiters.push({ predicate, resolve }));
    },
  };
}

