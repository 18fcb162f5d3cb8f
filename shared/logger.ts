/** Scoped JSON loggers (pino) writing to stderr, so stdout stays free for command output. */
import { pino, type Logger } from 'pino';
import type { LogLevel } from './config/env.js';

export type { Logger } from 'pino';

export function createLogger(name: string, level: LogLevel): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}
