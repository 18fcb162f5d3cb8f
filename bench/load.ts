/**
 * Load benchmark (not a test): `npm run bench:load`, or after `npm run build`
 * `node dist/bench/load.js [--workers 50] [--requests 100] [--strip-rows 4] [--timeout-s 900]`.
 *
 * One `tessera master` process on the local PostgreSQL (a private database made for the run and
 * dropped after, as the tests do), `--workers` `tessera worker` processes on loopback, and
 * `--requests` small requests queued at once in one INSERT (the bundled sample, NDVI + NDSI, strips
 * of `--strip-rows` rows, so every worker has work). It waits for every request to finish (NOTIFY),
 * reading the master's RSS as each one does, and prints a Markdown report (stdout; progress on
 * stderr): all completed or not, the master's peak RSS (VmHWM) and CPU, its RSS against requests
 * finished, latency (insert → completed) and run time (claimed → completed) from the rows'
 * timestamps, total wall and tiles per second. Exit 1 when any request failed or did not finish.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { freePort } from '../shared/free-port.js';
import { packageRoot } from '../shared/package-root.js';
import { createTestDatabase } from '../test/support/test-database.js';
import { startMasterProcess, startWorkerProcesses, stopProcesses, type CliProcess } from './load-cluster.js';
import { loadFigures, type RequestTimes, type RssPoint } from './load-figures.js';
import { formatLoadReport } from './load-report.js';
import { parseStatus } from './proc-parse.js';
import { ProcessSampler } from './process-sampler.js';

function log(message: string): void {
  process.stderr.write(`[bench:load] ${new Date().toISOString().slice(11, 19)} ${message}\n`);
}

const { values: flags } = parseArgs({
  options: {
    workers: { type: 'string', default: '50' },
    requests: { type: 'string', default: '100' },
    'strip-rows': { type: 'string', default: '4' },
    'timeout-s': { type: 'string', default: '900' },
    'keep-logs': { type: 'boolean', default: false },
  },
});
const settings = {
  workers: Number(flags.workers),
  requests: Number(flags.requests),
  stripRows: Number(flags['strip-rows']),
  timeoutMs: Number(flags['timeout-s']) * 1000,
};

const sample = join(packageRoot(), 'samples', 'L7_ETMs.tif');
const BANDS = { green: `${sample}#2`, red: `${sample}#3`, nir: `${sample}#4`, swir16: `${sample}#5` };

async function rssOf(pid: number): Promise<number> {
  return parseStatus(await readFile(`/proc/${pid}/status`, 'utf8')).rssBytes ?? 0;
}

const ROWS_SQL = `
  SELECT id::text AS "id", status, tiles_total AS "tilesTotal", tiles_done AS "tilesDone", attempts, error,
         created_at AS "createdAt", started_at AS "startedAt", finished_at AS "finishedAt", worker_tiles AS "workerTiles"
    FROM mosaic_requests ORDER BY id`;

/** Waits until `count` requests have finished (NOTIFY), the master exits, or the timeout; samples RSS at each. */
async function waitForAll(client: pg.Client, master: CliProcess, count: number, points: RssPoint[]): Promise<string | null> {
  let finished = 0;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(`gave up after ${settings.timeoutMs / 1000} s with ${finished} of ${count} finished`), settings.timeoutMs);
    const done = (outcome: string | null): void => {
      clearTimeout(timer);
      resolve(outcome);
    };
    client.on('notification', () => {
      finished += 1;
      rssOf(master.pid).then((rssBytes) => points.push({ finished, rssBytes }), () => undefined);
      if (finished % 10 === 0) log(`${finished}/${count} finished`);
      if (finished === count) done(null);
    });
    void master.exited.then((code) => done(`the master exited (${String(code)}) with ${finished} of ${count} finished`));
  });
}

function mergeCounts(maps: ReadonlyArray<ReadonlyMap<string, number>>): Map<string, number> {
  const merged = new Map<string, number>();
  for (const map of maps) for (const [key, count] of map) merged.set(key, (merged.get(key) ?? 0) + count);
  return merged;
}

async function main(): Promise<number> {
  if (!existsSync(join(packageRoot(), 'dist', 'cli', 'bin.js'))) {
    process.stderr.write('dist/cli/bin.js is missing: run `npm run build` first\n');
    return 2;
  }
  const load = loadavg().map((l) => l.toFixed(1)).join(', ');
  const database = await createTestDatabase();
  const outputDir = await mkdtemp(join(tmpdir(), 'tessera-bench-load-'));
  const logDir = await mkdtemp(join(tmpdir(), 'tessera-bench-load-logs-'));
  let keepLogs = flags['keep-logs'];
  const processes: CliProcess[] = [];
  const client = new pg.Client({ connectionString: database.url, application_name: 'tessera-bench-load' });
  try {
    const grpcPort = await freePort();
    const master = await startMasterProcess({ databaseUrl: database.url, outputDir, grpcPort, logFile: join(logDir, 'master.log') });
    processes.push(master);
    const sampler = new ProcessSampler(master.pid);
    sampler.start();
    const idleRssBytes = await rssOf(master.pid);
    log(`master ${master.pid} on 127.0.0.1:${grpcPort}; starting ${settings.workers} workers …`);
    processes.push(...(await startWorkerProcesses(settings.workers, grpcPort, logDir)));
    const points: RssPoint[] = [{ finished: 0, rssBytes: await rssOf(master.pid) }];
    await client.connect();
    await client.query('LISTEN tessera_request_finished');
    log(`${settings.workers} workers started; queueing ${settings.requests} requests`);
    await client.query(
      `INSERT INTO mosaic_requests (bands, indices, strip_rows)
       SELECT $1::jsonb, '{ndvi,ndsi}', $2 FROM generate_series(1, $3)`,
      [JSON.stringify(BANDS), settings.stripRows, settings.requests],
    );
    const stopped = await waitForAll(client, master, settings.requests, points);
    if (stopped) log(stopped);
    const { rows } = await client.query<RequestTimes>(ROWS_SQL);
    log('stopping workers and master (SIGTERM)');
    const workers = processes.slice(1);
    await stopProcesses(workers, 'SIGTERM');
    await stopProcesses([master], 'SIGTERM');
    const report = sampler.stop();
    const masterRecord = report.processes.find((p) => p.pid === master.pid);
    const figures = loadFigures(rows);
    process.stdout.write(
      formatLoadReport({
        settings,
        machine: `${availableParallelism()} cores, load average ${load} at the start, Node ${process.version}, PostgreSQL on 127.0.0.1:5432, ${new Date().toISOString().slice(0, 16)}Z`,
        figures,
        masterIdleRssBytes: idleRssBytes,
        masterPeakRssBytes: masterRecord?.peakRssBytes ?? 0,
        masterCpuSeconds: masterRecord?.cpuSeconds ?? 0,
        masterExit: await master.exited,
        masterComplaints: master.complaints(),
        workerComplaints: mergeCounts(workers.map((worker) => worker.complaints())),
        rss: points.sort((a, b) => a.finished - b.finished),
        stopped,
      }),
    );
    if (figures.failed.length > 0 || figures.unfinished.length > 0 || stopped) {
      keepLogs = true;
      return 1;
    }
    return 0;
  } finally {
    await stopProcesses(processes, 'SIGKILL');
    await client.end().catch(() => undefined);
    await database.drop();
    await rm(outputDir, { recursive: true, force: true });
    if (keepLogs) log(`logs kept in ${logDir}`);
    else await rm(logDir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
