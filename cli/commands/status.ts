/** `tessera status [id]`: one request in detail, or the most recent ones as a table. */
import type { Command } from 'commander';
import type { MosaicRequestRow } from '../../master/db/request-store.js';
import { openClientStore } from '../client-store.js';
import { formatSummary, summarize } from '../request-summary.js';

function tableRow(row: MosaicRequestRow): string {
  const progress = row.tilesTotal === null ? '-' : `${row.tilesDone}/${row.tilesTotal}`;
  const note = row.error ?? row.outputDir ?? '';
  return [row.id.padStart(6), row.status.padEnd(9), progress.padStart(9), row.createdAt.toISOString(), note].join('  ');
}

export function statusCommand(program: Command): void {
  program
    .command('status [id]')
    .description('show one request, or the 20 most recent')
    .option('--json', 'print JSON')
    .option('--limit <n>', 'how many recent requests', '20')
    .option('--database-url <url>', 'database to read (default: DATABASE_URL, else the local embedded one)')
    .action(async (id: string | undefined, options: { json?: boolean; limit: string; databaseUrl?: string }) => {
      const { store, close } = await openClientStore(process.env, options.databaseUrl);
      try {
        if (id !== undefined) {
          const row = await store.get(id);
          if (!row) {
            process.stderr.write(`no request with id ${id}\n`);
            process.exitCode = 1;
            return;
          }
          process.stdout.write(options.json ? `${JSON.stringify(summarize(row))}\n` : `${formatSummary(row)}\n`);
          return;
        }
        const rows = await store.list({ limit: Number(options.limit) || 20 });
        if (options.json) process.stdout.write(`${JSON.stringify(rows.map(summarize))}\n`);
        else {
          process.stdout.write(`${['id'.padStart(6), 'status'.padEnd(9), 'tiles'.padStart(9), 'created'.padEnd(24), 'output / error'].join('  ')}\n`);
          for (const row of rows) process.stdout.write(`${tableRow(row)}\n`);
        }
      } finally {
        await close();
      }
    });
}
