/**
 * What the master does, as typed events that logs, metrics and tests subscribe to (instead of
 * polling the database). Emitting never throws into the emitter: a listener that throws is the
 * listener's bug, reported on `onListenerError`, and the master goes on.
 */
import { EventEmitter } from 'node:events';

export interface MasterEventMap {
  /** A tile was handed to a worker. */
  'tile:leased': { readonly taskId: string; readonly workerId: string; readonly attempt: number };
  /** A worker's result for a tile was accepted. */
  'tile:done': { readonly taskId: string; readonly workerId: string; readonly attempt: number };
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
