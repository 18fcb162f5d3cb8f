/**
 * The `tessera` command line: master, worker, submit, status, run, demo, health, web. bin.ts runs it,
 * from the bundle scripts/bundle-cli.mjs makes of it when there is one.
 */
import { CommanderError } from 'commander';
import { config as loadDotenv } from 'dotenv';
import { ConfigError, RequestError, describeError } from '../shared/errors.js';
import { buildProgram } from './program.js';
import { UsageError } from './usage-error.js';

loadDotenv({ quiet: true });

const program = buildProgram();

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
