/**
 * The `tessera` command tree (master, worker, submit, status, run, demo, health, web), built
 * without running it: bin.ts parses argv with it, and tests read which commands and options exist
 * (e.g. that the Kubernetes probes call real ones). Every command loads its code on use.
 */
import { Command } from 'commander';
import { demoCommand } from './commands/demo.js';
import { healthCommand } from './commands/health.js';
import { masterCommand } from './commands/master.js';
import { runCommand } from './commands/run.js';
import { statusCommand } from './commands/status.js';
import { submitCommand } from './commands/submit.js';
import { webCommand } from './commands/web.js';
import { workerCommand } from './commands/worker.js';

export function buildProgram(): Command {
  const program = new Command()
    .name('tessera')
    .description('NDVI / NDSI mosaics from satellite imagery: a PostgreSQL-driven master and gRPC workers')
    .showHelpAfterError()
    .exitOverride();
  for (const register of [masterCommand, workerCommand, submitCommand, statusCommand, runCommand, demoCommand, healthCommand, webCommand]) register(program);
  return program;
}
