/**
 * Workers banned from one run of a request (a claim): caught returning wrong results, they get no
 * more of its tiles and their results for it are refused. A worker is known by its id and by the
 * connection it came on (so a new id on the same connection does not lift the ban).
 */
import type { WorkerRef } from './tile-lease.js';

/** A run: which request, which claim of it. */
export interface RunRef {
  readonly requestId: string;
  readonly claim: number;
}

interface RunBans {
  readonly ids: Set<string>;
  readonly connections: Set<string>;
}

export class WorkerBans {
  readonly #runs = new Map<string, RunBans>();

  ban(run: RunRef, worker: WorkerRef): void {
    const key = runKey(run);
    const bans = this.#runs.get(key) ?? { ids: new Set<string>(), connections: new Set<string>() };
    bans.ids.add(worker.workerId);
    if (worker.connection !== '') bans.connections.add(worker.connection);
    this.#runs.set(key, bans);
  }

  isBanned(run: RunRef, worker: WorkerRef): boolean {
    const bans = this.#runs.get(runKey(run));
    if (!bans) return false;
    return bans.ids.has(worker.workerId) || (worker.connection !== '' && bans.connections.has(worker.connection));
  }

  /** The run ended: its bans go. */
  forget(run: RunRef): void {
    this.#runs.delete(runKey(run));
  }
}

function runKey(run: RunRef): string {
  return `${run.requestId}/${run.claim}`;
}
