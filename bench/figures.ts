/**
 * Reading a request's figures defensively: the summary's and manifest's field names are changing, so
 * every numeric leaf under the sections asked for is taken, whatever it is called, and formatted by
 * its name (…Ms as seconds, …Bytes as MB).
 */

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A record keyed by worker ids (per-worker tile counts): shown as one entry, the counts sorted. */
function isPerWorker(value: Record<string, unknown>): boolean {
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((key) => /worker/i.test(key)) && Object.values(value).every((v) => typeof v === 'number');
}

/** Every numeric leaf under `value`, keyed by its dotted path; per-worker records become "a / b / c". */
export function numericEntries(value: unknown, prefix: string): Array<[string, number | string]> {
  if (typeof value === 'number' && Number.isFinite(value)) return [[prefix, value]];
  if (!isRecord(value)) return [];
  if (isPerWorker(value)) {
    const counts = (Object.values(value) as number[]).sort((a, b) => b - a);
    return [[`${prefix} (per worker)`, counts.join(' / ')]];
  }
  return Object.entries(value).flatMap(([key, child]) => numericEntries(child, prefix ? `${prefix}.${key}` : key));
}

/** Sections worth showing: timings, tiles, strips (and any *tiles* / *strips* numbers) of a summary or manifest. */
export function requestFigures(document: Record<string, unknown> | null, label: string): Array<[string, number | string]> {
  if (!document) return [];
  return Object.entries(document)
    .filter(([key]) => /timings|tiles|strips|shipped|payload|fetched/i.test(key))
    .flatMap(([key, value]) => numericEntries(value, `${label}.${key}`));
}

export function formatFigure(name: string, value: number | string): string {
  if (typeof value === 'string') return value;
  if (/ms$/i.test(name)) return `${(value / 1000).toFixed(2)} s`;
  if (/bytes$/i.test(name)) return `${(value / 1e6).toFixed(1)} MB`;
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** MB = 10⁶ bytes (files and memory alike; the stricter reading of a "400 MB" target). */
export function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(0)} MB`;
}
