/**
 * What the master does, as typed events that logs, metrics and tests subscribe to (instead of
 * polling the database). Emitting never throws into the emitter: a listener that throws is the
 * listener's bug, reported on `onListenerError`, and the master goes on.
 */
import { EventEmitter } from 'node:events';

/** A worker's own account of one tile (TileTimings), ms. */
export interface WorkerTileTimes {
  readonly decodeMs: number;
  readonly computeMs: number;
  readonly encodeMs: number;
}

export interface MasterEventMap {
  /** This master claimed a request (`attempt`: the row's attempts, 1 for its first claim). */
  'request:claimed': { readonly requestId: string; readonly masterId: string; readonly attempt: number };
  /** A request was planned into `tilesTotal` tiles. */
  'request:planned': { readonly requestId: string; readonly tilesTotal: number };
  /** One more of the request's tiles is in the mosaic. */
  'request:progress': { readonly requestId: string; readonly tilesDone: number; readonly tilesTotal: number };
  /** The request is recorded completed. */
  'request:completed': { readonly requestId: string; readonly tilesDone: number; readonly ms: number };
  /** The request is recorded failed with `error`, the user's message. */
  'request:failed': { readonly requestId: string; readonly error: string };
  /** A user cancelled the request while this master ran it: its tiles were dropped, nothing published. */
  'request:cancelled': { readonly requestId: string };
  /** A tile was handed to a worker. */
  'tile:leased': { readonly taskId: string; readonly workerId: string; readonly attempt: number };
  /** A worker's result for a tile was accepted. */
  'tile:done': {
    readonly taskId: string;
    readonly workerId: string;
    readonly attempt: number;
    /** The result's PNG bytes, and the times the worker reported (absent: it reported none). */
    readonly resultBytes?: number;
    readonly timings?: WorkerTileTimes;
  };
  /** A worker's result was refused (invalid); the tile goes out again while it has attempts left. */
  'tile:rejected': { readonly taskId: string; readonly workerId: string; readonly attempt: number; readonly reason: string };
  /** A lease ran out before its worker answered. */
  'tile:lease-expired': { readonly taskId: string; readonly workerId: string; readonly attempt: number };
  /** A worker finished reading a tile's source data: `bytes` shipped to it (also when it stopped early). */
  'tile:streamed': { readonly taskId: string; readonly workerId: string; readonly attempt: number; readonly bytes: number };
  /** A worker asked for work (a long poll began): it is alive. */
  'worker:polling': { readonly workerId: string };
  /** A worker opened its Attend call: it is connected until 'worker:gone'. */
  'worker:attending': { readonly workerId: string };
  /** A tile went back to the queue after a failed attempt (lease expired, worker error, worker gone). */
  'tile:requeued': { readonly taskId: string; readonly attempt: number; readonly reason: string };
  /** A worker's Attend call ended; `released` of its tiles went back to the queue. */
  'worker:gone': { readonly workerId: string; readonly released: number };
  /** Verification outvoted a worker on `strip`: it gets no more tiles of the request's run. */
  'worker:banned': { readonly requestId: string; readonly workerId: string; readonly strip: number };
}

export type MasterEventName = keyof MasterEventMap;

export class MasterEvents {
  readonly #emitter = new EventEmitter();
  readonly #onListenerError: (error: unknown, event: MasterEventName) => void;

  constructor(onListenerError: (error: unknown, event: MasterEventName) => void = () => undefined) {
    this.#onListenerError = onListenerError;
    this.#emitter.setMaxListeners(0); // tests and metrics may each subscribe; no leak warning
  }

  /** Subscribes; returns the unsubscribe function. */
  on<E extends MasterEventName>(event: E, listener: (payload: MasterEventMap[E]) => void): () => void {
    const guarded = (payload: MasterEventMap[E]): void => {
      try {
        listener(payload);
      } catch (error) {
        this.#onListenerError(error, event);
      }
    };
    this.#emitter.on(event, guarded);
    return () => this.#emitter.off(event, guarded);
  }

  /** Resolves with the first payload of `event` that satisfies `predicate`. */
  next<E extends MasterEventName>(event: E, predicate: (payload: MasterEventMap[E]) => boolean = () => true): Promise<MasterEventMap[E]> {
    return new Promise((resolve) => {
      const off = this.on(event, (payload) => {
        if (!predicate(payload)) return;
        off();
        resolve(payload);
      });
    });
  }

  emit<E extends MasterEventName>(event: E, payload: MasterEventMap[E]): void {
    this.#emitter.emit(event, payload);
  }
}
