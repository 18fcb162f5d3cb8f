/** `tessera run`: one request, kept in memory (no database), with N local workers; exit 0 only on success. */
import { InvalidArgumentError, type Command } from 'commander';
import { clientRequestDefaults } from '../../shared/request/check-request.js';
import { addRequestOptions, requestFromOptions, type RequestCliOptions } from '../request-options.js';
import { formatSummary, summarize } from '../request-summary.js';

interface RunOptions extends RequestCliOptions {
  readonly workers: number;
  readonly out: string;
  readonly json?: boolean;
}

export function parseWorkerCount(value: string): number {
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1 || count > 64) throw new InvalidArgumentError('--workers must be a whole number from 1 to 64');
  return count;
}

export function runCommand(program: Command): void {
  addRequestOptions(
    program
      .command('run')
      .description('process one request start to finish: a master and N local worker processes, no database')
      .option('--workers <n>', 'worker processes to start', parseWorkerCount, 2)
      .option('--out <dir>', 'output folder (the mosaic goes to <dir>/<request id>/)', './output')
      .option('--json', 'print a JSON summary with the output paths as the last line of stdout'),
  ).action(async (options: RunOptions) => {
    const { runOneShot } = await import('../one-shot.js'); // master-only dependencies, loaded on use
    const row = await runOneShot({
      request: requestFromOptions(options, clientRequestDefaults(process.env)),
      workers: options.workers,
      outputDir: options.out,
      progress: process.stderr.isTTY === true,
      env: process.env,
    });
    process.stdout.write(options.json ? `${JSON.stringify(summarize(row))}\n` : `${formatSummary(row)}\n`);
    if (row.status !== 'completed') process.exitCode = 1;
  });
}
