/**
 * Start-up of `tessera master` on its embedded database, as a user meets it (part of bench/startup.ts).
 *
 * One start: spawn `tessera master` without DATABASE_URL (EMBEDDED_DB_PORT=0, GRPC_LISTEN on a free
 * loopback port), and time until it is ready: it has logged "master started" AND its database answers
 * `SELECT 1` from a pg client on the port it printed. Then it idles IDLE_MS; its RSS then is the idle
 * RSS, its VmHWM the peak of the whole start. Then SIGTERM, and it must exit 0.
 * Cold: a new EMBEDDED_DB_DIR; warm: the same folder again, right after.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { NODE_FLAGS } from '../cli/node-flags.js';
import { parseStatus } from './proc-parse.js';

export interface MasterStart {
  /** Spawn to "master started" on stderr. */
  readonly startedMs: number;
  /** Spawn to the first `SELECT 1` answered: ready. */
  readonly readyMs: number;
  readonly idleRssBytes: number;
  readonly peakRssBytes: number;
}

export async function startMasterOnce(root: string, dataDir: string, outputDir: string, idleMs: number): Promise<MasterStart> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    EMBEDDED_DB_DIR: dataDir,
    EMBEDDED_DB_PORT: '0',
    GRPC_LISTEN: '127.0.0.1:0',
    OUTPUT_DIR: outputDir,
    LOG_LEVEL: 'info',
  };
  delete env['DATABASE_URL'];
  const began = performance.now();
  const child = spawn(process.execPath, [...NODE_FLAGS, join(root, 'dist', 'cli', 'bin.js'), 'master'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start tessera master');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  try {
    const { startedMs, url } = await new Promise<{ startedMs: number; url: string }>((resolve, reject) => {
      let startedMs: number | undefined;
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (startedMs === undefined && stderr.includes('"msg":"master started"')) startedMs = performance.now() - began;
        const url = /embedded PostgreSQL at (postgres:\/\/\S+)/.exec(stderr)?.[1];
        if (startedMs !== undefined && url !== undefined) resolve({ startedMs, url });
      });
      void exited.then((code) => reject(new Error(`tessera master exited (${code}) before it was ready:\n${stderr}`)));
    });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('SELECT 1');
    const readyMs = performance.now() - began;
    await client.end();
    await new Promise((resolve) => setTimeout(resolve, idleMs));
    const status = parseStatus(await readFile(`/proc/${pid}/status`, 'utf8'));
    return { startedMs, readyMs, idleRssBytes: status.rssBytes ?? 0, peakRssBytes: status.peakRssBytes ?? 0 };
  } finally {
    child.kill('SIGTERM');
    const code = await exited;
    if (code !== 0) process.stderr.write(`tessera master exited ${code} on SIGTERM:\n${stderr}\n`);
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

/** A Markdown table of the cold and warm starts of one tessera tree, with their medians. */
export function masterTable(root: string, cold: readonly MasterStart[], warm: readonly MasterStart[], idleMs: number): string[] {
  const row = (label: string, runs: readonly MasterStart[]): string =>
    `| ${label} | ${runs.map((r) => seconds(r.readyMs)).join(', ')} | **${seconds(median(runs.map((r) => r.readyMs)))}** | ` +
    `${seconds(median(runs.map((r) => r.startedMs)))} | **${mb(median(runs.map((r) => r.idleRssBytes)))}** | ${mb(median(runs.map((r) => r.peakRssBytes)))} |`;
  return [
    `\`tessera master\`, embedded database, from ${root}: ready = "master started" logged and \`SELECT 1\` answered on its port; ` +
      `idle RSS ${idleMs} ms after that; medians of ${cold.length}`,
    '',
    '| start | ready, each run | ready, median | "master started", median | idle RSS, median | peak RSS, median |',
    '|---|---|---|---|---|---|',
    row('cold (new data folder)', cold),
    row('warm (existing folder)', warm),
    '',
  ];
}
