/**
 * What verification (VERIFY_FRACTION) found in one run, per worker: results another worker
 * confirmed byte for byte, results outvoted by two others (the worker is then banned), results in
 * the mosaic that nobody checked, and results thrown away because their worker was banned.
 */

export interface WorkerVerification {
  /** Its results another worker's identical result confirmed. */
  readonly verified: number;
  /** Its results two other workers outvoted. */
  readonly minority: number;
  /** Its strips in the mosaic that no other worker computed (not sampled, or no second worker in time). */
  readonly unverified: number;
  /** Its unverified strips thrown away (and computed again by others) once it was banned. */
  readonly discarded: number;
  /** Caught in the minority: no more tiles of this run, its results refused. */
  readonly banned: boolean;
}

export interface VerificationSummary {
  /** VERIFY_FRACTION of the run. */
  readonly fraction: number;
  /** Strips picked for verification (each computed by two workers, three on a disagreement). */
  readonly sampledStrips: number;
  /** Replicas no second worker took within VERIFY_WAIT_MS: those strips stayed unverified. */
  readonly replicasGivenUp: number;
  /** Disagreements decided by a third worker. */
  readonly arbitrations: number;
  readonly byWorker: Readonly<Record<string, WorkerVerification>>;
}

interface Counts {
  verified: number;
  minority: number;
  discarded: number;
  banned: boolean;
}

export class VerificationTally {
  readonly #fraction: number;
  readonly #workers = new Map<string, Counts>();
  /** Strip → worker, for the strips in the mosaic that nobody checked. */
  readonly #unverified = new Map<number, string>();
  #sampled = 0;
  #givenUp = 0;
  #arbitrations = 0;

  constructor(fraction: number) {
    this.#fraction = fraction;
  }

  sampled(): void {
    this.#sampled += 1;
  }

  verified(workerId: string): void {
    this.#of(workerId).verified += 1;
  }

  minority(workerId: string): void {
    this.#of(workerId).minority += 1;
    this.#arbitrations += 1;
  }

  givenUp(): void {
    this.#givenUp += 1;
  }

  banned(workerId: string): void {
    this.#of(workerId).banned = true;
  }

  /** Strip `strip` went into the mosaic from `workerId`; `checked` when another worker confirmed it. */
  stitched(strip: number, workerId: string, checked: boolean): void {
    this.#of(workerId);
    if (checked) this.#unverified.delete(strip);
    else this.#unverified.set(strip, workerId);
  }

  /** The strips in the mosaic that `workerId` computed and nobody checked. */
  unverifiedOf(workerId: string): number[] {
    return [...this.#unverified].filter(([, worker]) => worker === workerId).map(([strip]) => strip);
  }

  /** Strip `strip` was thrown out of the mosaic (its worker was banned). */
  discarded(strip: number): void {
    const worker = this.#unverified.get(strip);
    if (worker === undefined) return;
    this.#unverified.delete(strip);
    this.#of(worker).discarded += 1;
  }

  summary(): VerificationSummary {
    const unverified = new Map<string, number>();
    for (const worker of this.#unverified.values()) unverified.set(worker, (unverified.get(worker) ?? 0) + 1);
    const byWorker = Object.fromEntries(
      [...this.#workers].sort(([a], [b]) => a.localeCompare(b)).map(([worker, counts]) => [worker, { ...counts, unverified: unverified.get(worker) ?? 0 }]),
    );
    return { fraction: this.#fraction, sampledStrips: this.#sampled, replicasGivenUp: this.#givenUp, arbitrations: this.#arbitrations, byWorker };
  }

  #of(workerId: string): Counts {
    let counts = this.#workers.get(workerId);
    if (!counts) {
      counts = { verified: 0, minority: 0, discarded: 0, banned: false };
      this.#workers.set(workerId, counts);
    }
    return counts;
  }
}
