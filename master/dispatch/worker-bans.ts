/**
 * Workers banned from one run of a request (a claim): caught returning wrong results, they get no
 * more of its tiles and their results for it are refused. A worker is known by its id: not by its
 * connection, which in-process workers (and gRPC's shared subchannels) share with honest ones.
 */
import type { WorkerRef } from './tile-lease.js';

/** A run: which request, which claim of it. */
export interface RunRef {
  readonly requestId: string;
  readonly claim: number;
}

export class WorkerBans {
  readonly #runs = new Map<string, Set<string>>();

  ban(run: RunRef, worker: WorkerRef): void {
    const key = runKey(run);
    const ids = this.#runs.get(key) ?? new Set<string>();
    ids.add(worker.workerId);
    this.#runs.set(key, ids);
  }

  isBanned(run: RunRef, worker: WorkerRef): boolean {
    return this.#runs.get(runKey(run))?.has(worker.workerId) ?? false;
  }

  /** The run ended: its bans go. */
  forget(run: RunRef): void {
    this.#runs.delete(runKey(run));
  }
}

function runKey(run: RunRef): string {
  return `${run.requestId}/${run.claim}`;
}
