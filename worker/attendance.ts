/**
 * The worker's presence on the master: one Attend call kept open for as long as the worker runs.
 * When this process dies or its connection drops, the call ends on the master and the tiles the
 * worker holds go back to the queue at once, instead of when their leases expire (TILE_LEASE_MS).
 * The call is reopened (with backoff) whenever it ends while the worker is still running.
 */
import * as grpc from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { TileServiceClient } from '../shared/proto/tile-service.js';

export interface AttendanceOptions {
  readonly client: TileServiceClient;
  readonly workerId: string;
  readonly log: Logger;
  /** How long to wait before reopening after `failures` calls in a row ended early. */
  readonly retryDelay: (failures: number) => number;
}

/** A call that stayed open this long counts as having reached the master (backoff starts over). */
const HEALTHY_CALL_MS = 10_000;

export class Attendance {
  readonly #options: AttendanceOptions;
  readonly #stopController = new AbortController();
  #call: grpc.ClientReadableStream<unknown> | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: AttendanceOptions) {
    this.#options = options;
  }

  start(): void {
    if (this.#loop) throw new Error('attendance already started');
    this.#loop = this.#keep();
  }

  /** Ends the call: the master releases whatever this worker still holds. */
  async stop(): Promise<void> {
    this.#stopController.abort();
    this.#call?.cancel();
    await this.#loop;
  }

  async #keep(): Promise<void> {
    const signal = this.#stopController.signal;
    let failures = 0;
    while (!signal.aborted) {
      const openedAt = Date.now();
      const outcome = await this.#attendOnce();
      if (signal.aborted) return;
      if (outcome.code === grpc.status.UNIMPLEMENTED) {
        this.#options.log.warn({}, 'master does not take attendance; a dead worker is noticed when its leases expire');
        return;
      }
      failures = Date.now() - openedAt >= HEALTHY_CALL_MS ? 1 : failures + 1;
      const delay = this.#options.retryDelay(failures);
      this.#options.log.debug({ reason: outcome.details, retryInMs: delay }, 'attendance call ended; reopening');
      await sleep(delay, undefined, { signal }).catch(() => undefined);
    }
  }

  /** Opens one Attend call and resolves with its status when it ends. */
  #attendOnce(): Promise<{ code: number; details: string }> {
    return new Promise((resolve) => {
      const call = this.#options.client.Attend({ workerId: this.#options.workerId });
      this.#call = call;
      let settled = false;
      const finish = (code: number, details: string): void => {
        if (settled) return;
        settled = true;
        if (this.#call === call) this.#call = undefined;
        resolve({ code, details });
      };
      call.on('data', () => undefined); // the master sends nothing; keep the stream flowing anyway
      call.on('status', (status: grpc.StatusObject) => finish(status.code, status.details));
      call.on('error', (error: unknown) => finish(grpc.status.UNKNOWN, describeError(error)));
    });
  }
}
