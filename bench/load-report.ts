/** The load benchmark's Markdown report (bench/load.ts). */
import { megabytes } from './figures.js';
import { rssAt, rssSlope, type Distribution, type LoadFigures, type RssPoint } from './load-figures.js';

export interface LoadReport {
  readonly settings: { readonly workers: number; readonly requests: number; readonly stripRows: number };
  readonly machine: string;
  readonly figures: LoadFigures;
  /** Once started, before any worker connected. */
  readonly masterIdleRssBytes: number;
  readonly masterPeakRssBytes: number;
  readonly masterCpuSeconds: number;
  readonly masterExit: number | NodeJS.Signals | null;
  /** Warning and error log lines by message. */
  readonly masterComplaints: ReadonlyMap<string, number>;
  readonly workerComplaints: ReadonlyMap<string, number>;
  /** The master's RSS with 0, 1, 2 … requests finished. */
  readonly rss: readonly RssPoint[];
  /** Why the benchmark stopped waiting early; null when every request finished. */
  readonly stopped: string | null;
}

const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const spread = (d: Distribution): string => `${s(d.median)} / ${s(d.p95)} / ${s(d.max)}`;

const complaints = (counts: ReadonlyMap<string, number>): string =>
  counts.size === 0 ? 'none' : [...counts].sort((a, b) => b[1] - a[1]).map(([message, count]) => `${count} × ${message.replaceAll('|', '\\|')}`).join('; ');

export function formatLoadReport(report: LoadReport): string {
  const { settings, figures } = report;
  const marks = [...new Set([0, 1, 10, 25, 50, 75, 100, 200, 500, 1000].filter((mark) => mark < settings.requests)).add(settings.requests)];
  const half = Math.floor(settings.requests / 2);
  const slope = rssSlope(report.rss, half);
  const problems = [
    ...figures.failed.map((row) => `request ${row.id} failed: ${row.error ?? '(no message)'}`),
    ...figures.unfinished.map((row) => `request ${row.id} still ${row.status} (${row.tilesDone}/${row.tilesTotal ?? '?'} tiles)`),
    ...(report.stopped ? [report.stopped] : []),
  ];
  const lines = [
    `Load: 1 \`tessera master\` process, ${settings.workers} \`tessera worker\` processes on loopback, ${settings.requests} requests queued in one INSERT`,
    `(samples/L7_ETMs.tif, 349 × 352, NDVI + NDSI, strip_rows ${settings.stripRows}). ${report.machine}.`,
    '',
    '| figure | value |',
    '|---|---|',
    `| requests completed / failed / unfinished | ${figures.completed} / ${figures.failed.length} / ${figures.unfinished.length} |`,
    `| claimed more than once | ${figures.reclaimed} |`,
    `| tiles (strips) | ${figures.tiles} |`,
    `| wall, first insert to last completion | ${s(figures.wallMs)} |`,
    `| tiles per second | ${figures.tilesPerSecond.toFixed(0)} |`,
    `| latency, insert → completed: median / p95 / max | ${spread(figures.latencyMs)} |`,
    `| one request's run, claimed → completed: median / p95 / max | ${spread(figures.serviceMs)} |`,
    `| a completion to the next claim: median / p95 / max | ${spread(figures.handoverMs)} |`,
    `| workers that computed tiles; tiles each, median / max | ${figures.tilesPerWorker.count} of ${settings.workers}; ${figures.tilesPerWorker.median} / ${figures.tilesPerWorker.max} |`,
    `| master peak RSS (VmHWM) | ${megabytes(report.masterPeakRssBytes)} |`,
    `| master CPU | ${report.masterCpuSeconds.toFixed(1)} s |`,
    `| master RSS idle, before the workers started | ${megabytes(report.masterIdleRssBytes)} |`,
    `| master RSS: workers connected / after ${marks.slice(1).join(' / ')} requests | ${rssAt(report.rss, marks).map((p) => megabytes(p.rssBytes)).join(' / ')} |`,
    `| master RSS growth from request ${half} on (least squares) | ${Number.isFinite(slope) ? `${(slope / 1024).toFixed(0)} KB per request` : 'n/a'} |`,
    `| master's warnings and errors | ${complaints(report.masterComplaints)} |`,
    `| workers' warnings and errors | ${complaints(report.workerComplaints)} |`,
    `| master exit on SIGTERM | ${String(report.masterExit)} |`,
    '',
  ];
  if (problems.length > 0) lines.push('Problems:', '', ...problems.map((problem) => `- ${problem}`), '');
  return `${lines.join('\n')}\n`;
}
