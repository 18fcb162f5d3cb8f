/**
 * Rows as the HTTP API shows them: the table's column names (snake_case, as POST takes them),
 * timestamps in ISO 8601. A request's output folder (a path on the master's disk) is left out; the
 * files in it are named instead, each fetched from /api/requests/:id/files/:name.
 */
import type { MosaicRequestRow, WorkerStatsRow } from '../../master/store/request-store.js';

export type RowJson = Record<string, unknown>;

const snakeCase = (key: string): string => key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

/** Every field but those in `omit`, named as its column. */
function columnsOf(row: object, omit: readonly string[] = []): RowJson {
  const json: RowJson = {};
  for (const [key, value] of Object.entries(row)) {
    if (!omit.includes(key)) json[snakeCase(key)] = value instanceof Date ? value.toISOString() : value;
  }
  return json;
}

export function requestJson(row: MosaicRequestRow, files?: readonly string[]): RowJson {
  const json = columnsOf(row, ['outputDir']);
  if (files !== undefined) json['files'] = files;
  return json;
}

export const workerJson = (row: WorkerStatsRow): RowJson => columnsOf(row);
