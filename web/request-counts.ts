/**
 * How many requests the database holds in each status, for /metrics: read from the table on each
 * scrape, so every master's requests count and a restarted tessera web says the same at once.
 */
import type { Queryable } from '../master/db/database.js';
import { REQUEST_STATUSES, type RequestStatus } from '../shared/types.js';

const COUNT_SQL = `SELECT status, count(*)::text AS n FROM mosaic_requests GROUP BY status`;

export async function countRequestsByStatus(db: Queryable): Promise<Record<RequestStatus, number>> {
  const counts = Object.fromEntries(REQUEST_STATUSES.map((status) => [status, 0])) as Record<RequestStatus, number>;
  const { rows } = await db.query<{ status: string; n: string }>(COUNT_SQL);
  for (const { status, n } of rows) {
    if ((REQUEST_STATUSES as readonly string[]).includes(status)) counts[status as RequestStatus] = Number(n);
  }
  return counts;
}
