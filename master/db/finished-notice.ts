/** The payload of a tessera_request_finished NOTIFY (001 and 005 migrations' trigger), read safely. */
import type { FinishedStatus } from '../store/request-store.js';

const FINISHED_STATUSES: readonly string[] = ['completed', 'failed', 'cancelled'] satisfies FinishedStatus[];

/** A REQUEST_FINISHED_CHANNEL payload; null for anything else (never thrown: a NOTIFY anyone may send). */
export function parseFinished(payload: string): { id: string; status: FinishedStatus } | null {
  try {
    const note: unknown = JSON.parse(payload);
    if (typeof note !== 'object' || note === null) return null;
    const { id, status } = note as Record<string, unknown>;
    if (typeof id !== 'string' || typeof status !== 'string' || !FINISHED_STATUSES.includes(status)) return null;
    return { id, status: status as FinishedStatus };
  } catch {
    return null;
  }
}
