/**
 * A StripMosaicWriter's lanes, one per index (strip-lane.ts), and what the writer asks of all of them
 * at once: which lane a strip goes to, how far every lane has written, their states at a checkpoint,
 * the strips they still lack, and dropping strips from every one.
 */
import { TesseraError } from '../../shared/errors.js';
import type { IndexName } from '../../shared/types.js';
import type { StripHolding } from './strip-holding.js';
import { StripLane, StripPlacementError, type LaneFiles, type LaneState } from './strip-lane.js';

export interface StripLanesOptions {
  readonly indices: readonly IndexName[];
  readonly stripRows: readonly number[];
  readonly width: number;
  readonly holding: StripHolding;
  /** Resuming: the strips written at the checkpoint and each index's files' state then. */
  readonly resume?: { readonly strips: number; readonly lanes: Readonly<Record<string, LaneState>> } | undefined;
}

export class StripLanes {
  private readonly lanes = new Map<IndexName, StripLane>();
  /** Strips per index. */
  readonly stripCount: number;

  /** Throws a TesseraError when resuming from a checkpoint that lacks one of the indices. */
  constructor(options: StripLanesOptions) {
    this.stripCount = options.stripRows.length;
    for (const index of options.indices) {
      const state = options.resume?.lanes[index];
      if (options.resume && !state) throw new TesseraError(`strip mosaic writer: the checkpoint has no ${index}`);
      const resumed = options.resume && state ? { strips: options.resume.strips, state } : undefined;
      this.lanes.set(index, new StripLane(index, options.stripRows, options.width, options.holding, resumed));
    }
  }

  get indices(): IndexName[] {
    return [...this.lanes.keys()];
  }

  /** The lane of `index`; a StripPlacementError for an index not in the mosaic. */
  laneFor(index: IndexName, strip: number): StripLane {
    const lane = this.lanes.get(index);
    if (lane) return lane;
    throw new StripPlacementError('unknown-index', `strip ${strip} of ${index}: index not in this mosaic (${this.indices.join(', ')})`);
  }

  /** The strips from the top that every lane has written. */
  writtenByAll(): number {
    return Math.min(...[...this.lanes.values()].map((lane) => lane.written));
  }

  /** Strips written, summed over the lanes. */
  writtenStrips(): number {
    return [...this.lanes.values()].reduce((sum, lane) => sum + lane.written, 0);
  }

  /** Every lane's files' state after `strips` strips, or undefined when one lane no longer knows it. */
  statesAt(strips: number): Record<string, LaneState> | undefined {
    const states: Record<string, LaneState> = {};
    for (const [index, lane] of this.lanes) {
      const state = lane.stateAt(strips);
      if (!state) return undefined;
      states[index] = state;
    }
    return states;
  }

  /** Forget `dropped` in every lane, cutting written ones off that lane's files (StripLane.drop). */
  async drop(dropped: ReadonlySet<number>, opened: ReadonlyMap<IndexName, LaneFiles> | undefined): Promise<void> {
    for (const [index, lane] of this.lanes) await lane.drop(dropped, opened?.get(index));
  }

  /** Resolves once no lane is writing. */
  async settled(): Promise<void> {
    await Promise.all([...this.lanes.values()].map((lane) => lane.settled()));
  }

  /** The strips lanes still lack, e.g. "ndvi strips 2, 5", or undefined when every lane is complete. */
  missing(): string | undefined {
    const missing = [...this.lanes].flatMap(([index, lane]) => {
      const absent = lane.missing();
      if (absent.length === 0) return [];
      const shown = absent.slice(0, 10).join(', ') + (absent.length > 10 ? ` and ${absent.length - 10} more` : '');
      return [`${index} strip${absent.length > 1 ? 's' : ''} ${shown}`];
    });
    return missing.length > 0 ? missing.join('; ') : undefined;
  }
}
