/** `tessera submit`: inserts a mosaic request and prints its id; `--wait` follows it to the end. */
import type { Command } from 'commander';
import { clientRequestDefaults } from '../../shared/request/check-request.js';
import { addRequestOptions, requestFromOptions, type RequestCliOptions } from '../request-options.js';
import { formatSummary, summarize } from '../request-summary.js';
import { watchRequest } from '../request-watch.js';
import { openClientStore } from '../client-store.js';

interface SubmitOptions extends RequestCliOptions {
  readonly wait?: boolean;
  readonly json?: boolean;
  readonly databaseUrl?: string;
}

export function submitCommand(program: Command): void {
  addRequestOptions(
    program
      .command('submit')
      .description('insert a mosaic request into the database and print its id')
      .option('--wait', 'follow the request with a progress bar; exit non-zero if it fails')
      .option('--json', 'with --wait: print a JSON summary as the last line')
      .option('--database-url <url>', 'database to insert into (default: DATABASE_URL, else the local embedded one)'),
  ).action(async (options: SubmitOptions) => {
    const request = requestFromOptions(options, clientRequestDefaults(process.env));
    const { store, close } = await openClientStore(process.env, options.databaseUrl);
    try {
      const id = await store.insert(request);
      if (!options.wait) {
        process.stdout.write(`${id}\n`);
        return;
      }
      process.stderr.write(`submitted request ${id}\n`);
      const row = await watchRequest(store, id, { progress: process.stderr.isTTY === true || !options.json });
      process.stdout.write(options.json ? `${JSON.stringify(summarize(row))}\n` : `${formatSummary(row)}\n`);
      if (row.status !== 'completed') process.exitCode = 1;
    } finally {
      await close();
    }
  });
}
