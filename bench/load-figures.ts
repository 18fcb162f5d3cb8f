/**
 * The load benchmark's figures (bench/load.ts), from the request rows and the master's memory
 * samples: pure functions, so they are tested on made-up rows (test/unit/load-figures.test.ts).
 */

/** What the benchmark reads of each request row. */
export interface RequestTimes {
  readonly id: string;
  readonly status: string;
  readonly tilesTotal: number | null;
  readonly tilesDone: number;
  readonly attempts: number;
  readonly error: string | null;
  readonly createdAt: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  /** Worker id → tiles it computed, once completed. */
  readonly workerTiles: Readonly<Record<string, number>> | null;
}

export interface Distribution {
  readonly count: number;
  readonly median: number;
  readonly p95: number;
  readonly max: number;
}

/** Nearest-rank quantile (q in [0, 1]) of values sorted ascending; NaN when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] as number;
}

export function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, median: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), max: sorted.at(-1) ?? Number.NaN };
}

export interface LoadFigures {
  readonly requests: number;
  readonly completed: number;
  readonly failed: readonly RequestTimes[];
  /** Still pending or running when the benchmark stopped waiting. */
  readonly unfinished: readonly RequestTimes[];
  /** Requests claimed more than once (a master gave one up, or a claim was lost). */
  readonly reclaimed: number;
  readonly tiles: number;
  /** First insert to last finish, by the database's clock. */
  readonly wallMs: number;
  readonly tilesPerSecond: number;
  /** Insert to completed: the latency a user sees (queueing included). */
  readonly latencyMs: Distribution;
  /** Claimed to completed: one request's own run. */
  readonly serviceMs: Distribution;
  /** From one request's completion to the claim of the next (the master idle in between). */
  readonly handoverMs: Distribution;
  /** Tiles per worker over all requests, and how many workers did any. */
  readonly tilesPerWorker: Distribution;
}

const since = (from: Date, to: Date): number => to.getTime() - from.getTime();

export function loadFigures(rows: readonly RequestTimes[]): LoadFigures {
  const completed = rows.filter((row) => row.status === 'completed' && row.finishedAt);
  const first = Math.min(...rows.map((row) => row.createdAt.getTime()));
  const last = Math.max(...completed.map((row) => row.finishedAt!.getTime()));
  const wallMs = completed.length > 0 ? last - first : Number.NaN;
  const tiles = completed.reduce((sum, row) => sum + (row.tilesTotal ?? 0), 0);
  return {
    requests: rows.length,
    completed: completed.length,
    failed: rows.filter((row) => row.status === 'failed'),
    unfinished: rows.filter((row) => row.status === 'pending' || row.status === 'running'),
    reclaimed: rows.filter((row) => row.attempts > 1).length,
    tiles,
    wallMs,
    tilesPerSecond: tiles / (wallMs / 1000),
    latencyMs: distribution(completed.map((row) => since(row.createdAt, row.finishedAt!))),
    serviceMs: distribution(completed.filter((row) => row.startedAt).map((row) => since(row.startedAt!, row.finishedAt!))),
    handoverMs: distribution(handovers(rows)),
    tilesPerWorker: distribution([...tilesByWorker(completed).values()]),
  };
}

/** Each finished request's finish to the next claim after it, in claim order. */
function handovers(rows: readonly RequestTimes[]): number[] {
  const runs = rows.filter((row) => row.startedAt && row.finishedAt).sort((a, b) => a.startedAt!.getTime() - b.startedAt!.getTime());
  return runs.slice(1).map((next, i) => since(runs[i]!.finishedAt!, next.startedAt!));
}

function tilesByWorker(rows: readonly RequestTimes[]): Map<string, number> {
  const byWorker = new Map<string, number>();
  for (const row of rows) for (const [worker, tiles] of Object.entries(row.workerTiles ?? {})) byWorker.set(worker, (byWorker.get(worker) ?? 0) + tiles);
  return byWorker;
}

/** The master's resident memory when `finished` requests had finished. */
export interface RssPoint {
  readonly finished: number;
  readonly rssBytes: number;
}

/**
 * Least-squares slope of RSS against requests finished, in bytes per request, over the points from
 * `fromFinished` on (the first requests also load code and warm caches); NaN with fewer than 2 points.
 */
export function rssSlope(points: readonly RssPoint[], fromFinished: number): number {
  const used = points.filter((p) => p.finished >= fromFinished);
  if (used.length < 2) return Number.NaN;
  const meanX = used.reduce((s, p) => s + p.finished, 0) / used.length;
  const meanY = used.reduce((s, p) => s + p.rssBytes, 0) / used.length;
  const covariance = used.reduce((s, p) => s + (p.finished - meanX) * (p.rssBytes - meanY), 0);
  const variance = used.reduce((s, p) => s + (p.finished - meanX) ** 2, 0);
  return variance === 0 ? Number.NaN : covariance / variance;
}

/** The points whose `finished` is in `marks` (the first point at or after each mark). */
export function rssAt(points: readonly RssPoint[], marks: readonly number[]): RssPoint[] {
  return marks.flatMap((mark) => {
    const point = points.find((p) => p.finished >= mark);
    return point ? [point] : [];
  });
}
