/** How a finished request is shown: human-readable lines, or one JSON object (`--json`). */
import type { MosaicRequestRow } from '../master/db/request-store.js';

export interface RequestSummary {
  readonly id: string;
  readonly status: string;
  readonly error: string | null;
  readonly outputDir: string | null;
  readonly outputs: unknown;
  readonly tilesTotal: number | null;
  readonly tilesDone: number;
  readonly workerTiles: Record<string, number> | null;
  readonly timings: unknown;
  readonly uploadUrls: Record<string, string> | null;
  readonly uploadError: string | null;
}

export function summarize(row: MosaicRequestRow): RequestSummary {
  return {
    id: row.id,
    status: row.status,
    error: row.error,
    outputDir: row.outputDir,
    outputs: row.outputs,
    tilesTotal: row.tilesTotal,
    tilesDone: row.tilesDone,
    workerTiles: row.workerTiles,
    timings: row.timings,
    uploadUrls: row.uploadUrls,
    uploadError: row.uploadError,
  };
}

/** Every string value under `outputs` whose key names a file, e.g. {"ndvi": {"png": "/…/ndvi.png"}}. */
function outputFiles(outputs: unknown, prefix = ''): [string, string][] {
  if (typeof outputs === 'string') return [[prefix, outputs]];
  if (typeof outputs !== 'object' || outputs === null) return [];
  return Object.entries(outputs).flatMap(([key, value]) => outputFiles(value, prefix ? `${prefix}.${key}` : key));
}

export function formatSummary(row: MosaicRequestRow): string {
  const lines = [`request ${row.id}: ${row.status}`];
  if (row.error) lines.push(`  error: ${row.error}`);
  if (row.tilesTotal !== null) lines.push(`  tiles: ${row.tilesDone}/${row.tilesTotal}`);
  if (row.workerTiles) {
    const byWorker = Object.entries(row.workerTiles).map(([worker, count]) => `${worker}=${count}`);
    lines.push(`  tiles by worker: ${byWorker.join(', ')}`);
  }
  for (const [name, path] of outputFiles(row.outputs)) lines.push(`  ${name}: ${path}`);
  if (row.uploadUrls) lines.push(`  uploaded: ${Object.keys(row.uploadUrls).length} files, e.g. ${Object.values(row.uploadUrls)[0] ?? ''}`);
  if (row.uploadError) lines.push(`  upload failed (outputs are on the volume): ${row.uploadError}`);
  return lines.join('\n');
}
