/**
 * One index's strips on their way into its two stitched files (grey and colour, same IDAT bytes):
 * strip numbers are reserved as they arrive, placements run one at a time in arrival order, and each
 * strip is written as soon as every strip above it is, else held (StripHolding) until then.
 */
import type { StripData } from '../../shared/png/strip-png.js';
import type { PngStitcher } from './png-stitcher.js';
import type { StripHolding } from './strip-holding.js';

/** The two files of an index, fed the same strips. */
export interface LaneFiles {
  readonly grey: PngStitcher;
  readonly colour: PngStitcher;
}

export class StripLane {
  private readonly received = new Set<number>();
  private next = 0;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly name: string,
    private readonly stripCount: number,
    private readonly holding: StripHolding,
  ) {}

  /** Strips written to the files so far. */
  get written(): number {
    return this.next;
  }

  has(strip: number): boolean {
    return this.received.has(strip);
  }

  /** Strip numbers not added yet. */
  missing(): number[] {
    return Array.from({ length: this.stripCount }, (_, strip) => strip).filter((strip) => !this.received.has(strip));
  }

  /**
   * Reserve `strip` now (so a duplicate is seen at once) and place it after the placements queued
   * before it. `open` runs first in the queue and returns the files (it may refuse, e.g. after abort).
   */
  add(strip: number, data: StripData, open: () => Promise<LaneFiles>): Promise<void> {
    this.received.add(strip);
    const placed = this.queue.then(async () => this.place(strip, data, await open()));
    this.queue = placed.catch(() => undefined);
    return placed;
  }

  /** Resolves when every queued placement has run (whether it succeeded or not). */
  settled(): Promise<void> {
    return this.queue;
  }

  private async place(strip: number, data: StripData, files: LaneFiles): Promise<void> {
    if (strip !== this.next) return this.holding.hold(`${this.name}-${strip}`, data);
    let ready: StripData | undefined = data;
    while (ready) {
      await Promise.all([files.grey.append(ready), files.colour.append(ready)]);
      this.next++;
      ready = await this.holding.take(`${this.name}-${this.next}`);
    }
  }
}
