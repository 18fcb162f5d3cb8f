#!/usr/bin/env node
/** The `tessera` command line: master, worker, submit, status, run, demo, health, web. */
import { Command, CommanderError } from 'commander';
import { config as loadDotenv } from 'dotenv';
import { ConfigError, RequestError, describeError } from '../shared/errors.js';
import { demoCommand } from './commands/demo.js';
import { healthCommand } from './commands/health.js';
import { masterCommand } from './commands/master.js';
import { runCommand } from './commands/run.js';
import { statusCommand } from './commands/status.js';
import { submitCommand } from './commands/submit.js';
import { webCommand } from './commands/web.js';
import { workerCommand } from './commands/worker.js';
import { UsageError } from './usage-error.js';

loadDotenv({ quiet: true });

const program = new Command()
  .name('tessera')
  .description('NDVI / NDSI mosaics from satellite imagery: a PostgreSQL-driven master and gRPC workers')
  .showHelpAfterError()
  .exitOverride();

for (const register of [masterCommand, workerCommand, submitCommand, statusCommand, runCommand, demoCommand, healthCommand, webCommand]) register(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode;
  } else {
    const kind =
      error instanceof ConfigError ? 'configuration error' : error instanceof UsageError ? 'usage' : error instanceof RequestError ? 'bad request' : 'error';
    const hint = error instanceof UsageError ? ' (see tessera <command> --help)' : '';
    process.stderr.write(`tessera: ${kind}: ${describeError(error)}${hint}\n`);
    process.exitCode = error instanceof ConfigError || error instanceof UsageError ? 2 : 1;
  }
}
