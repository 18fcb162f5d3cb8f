/**
 * One index's strips on their way into its two stitched files (grey and colour, same IDAT bytes):
 * strip numbers are checked and reserved as they arrive, placements run one at a time in arrival
 * order, and each strip is written as soon as every strip above it is, else held (StripHolding).
 */
import { TesseraError } from '../../shared/errors.js';
import type { StripData } from '../../shared/png/strip-png.js';
import { SYNC_FLUSH_MARKER } from '../../shared/png/zlib-framing.js';
import type { PngStitcher, StitcherState } from './png-stitcher.js';
import type { StripHolding } from './strip-holding.js';

/** The two files of an index, fed the same strips. */
export interface LaneFiles {
  readonly grey: PngStitcher;
  readonly colour: PngStitcher;
}

/** Both files of an index after the same strips. */
export interface LaneState {
  readonly grey: StitcherState;
  readonly colour: StitcherState;
}

/** A strip does not fit the mosaic; `reason` lets a caller treat a re-sent duplicate differently. */
export class StripPlacementError extends TesseraError {
  constructor(
    readonly reason: 'unknown-index' | 'out-of-range' | 'duplicate' | 'wrong-size' | 'not-stitchable',
    message: string,
  ) {
    super(message);
  }
}

export class StripLane {
  private readonly received = new Set<number>();
  private next: number;
  private queue: Promise<void> = Promise.resolve();
  /**
   * The files' state after each strip written by this lane, by the number of strips then written
   * (kept for the whole run, a few dozen bytes a strip: a rewind may go back to any of them).
   */
  private readonly states = new Map<number, LaneState>();
  /** The Adler-32 of each strip this lane wrote, to read it back after a rewind. */
  private readonly adlers = new Map<number, number>();

  /**
   * @param name the index, in messages and holding keys
   * @param stripRows rows of each strip, top to bottom
   * @param width the image's width in pixels
   * @param resumed strips 0..resumed.strips-1 are in the files already (a resumed run), with their state
   */
  constructor(
    private readonly name: string,
    private readonly stripRows: readonly number[],
    private readonly width: number,
    private readonly holding: StripHolding,
    resumed?: { readonly strips: number; readonly state: LaneState },
  ) {
    this.next = resumed?.strips ?? 0;
    for (let strip = 0; strip < this.next; strip++) this.received.add(strip);
    if (resumed) this.states.set(resumed.strips, resumed.state);
  }

  /** Strips written to the files so far. */
  get written(): number {
    return this.next;
  }

  /** The files' state when `strips` strips were written (undefined when that was before this lane's start). */
  stateAt(strips: number): LaneState | undefined {
    return this.states.get(strips);
  }

  /** Strip numbers not added yet. */
  missing(): number[] {
    return this.stripRows.map((_, strip) => strip).filter((strip) => !this.received.has(strip));
  }

  /**
   * Claim strip number `strip` for `data`, so a duplicate is refused at once. Throws a
   * StripPlacementError for a number out of range, one already claimed, or data of the wrong size.
   */
  reserve(strip: number, data: StripData): void {
    const where = `strip ${strip} of ${this.name}`;
    const rows = this.stripRows[strip];
    if (!Number.isInteger(strip) || rows === undefined) {
      const last = this.stripRows.length - 1;
      throw new StripPlacementError('out-of-range', `${where}: no such strip, the mosaic has strips 0..${last}`);
    }
    if (this.received.has(strip)) throw new StripPlacementError('duplicate', `${where}: already added`);
    const expected = rows * (this.width + 1);
    if (data.filteredLength !== expected) {
      const size = `${rows} rows × (${this.width} + 1) = ${expected}`;
      throw new StripPlacementError('wrong-size', `${where}: ${data.filteredLength} filtered bytes, expected ${size}`);
    }
    if (!data.deflate.subarray(-SYNC_FLUSH_MARKER.length).equals(SYNC_FLUSH_MARKER)) {
      const problem = 'deflate data does not end with a sync flush (00 00 FF FF)';
      throw new StripPlacementError('not-stitchable', `${where}: ${problem}`);
    }
    this.received.add(strip);
  }

  /**
   * Place a reserved strip after the placements queued before it: write it if every strip above is
   * written (then any held ones that follow), else hold it. `open` runs first in the queue and
   * returns the files (it may refuse, e.g. after abort).
   */
  place(strip: number, data: StripData, open: () => Promise<LaneFiles>): Promise<void> {
    const placed = this.queue.then(async () => this.writeOrHold(strip, data, await open()));
    this.queue = placed.catch(() => undefined);
    return placed;
  }

  /**
   * Take `strips` back out (reserved ones become free again), after the placements queued before.
   * When some are written, the files are cut back to before the first of them; the strips written
   * after it that stay are read back from the grey file into the holding, to be written again.
   */
  drop(strips: ReadonlySet<number>, files: LaneFiles | undefined): Promise<void> {
    const dropped = this.queue.then(() => this.dropNow(strips, files));
    this.queue = dropped.catch(() => undefined);
    return dropped;
  }

  /** Resolves when every queued placement has run (whether it succeeded or not). */
  settled(): Promise<void> {
    return this.queue;
  }

  private async dropNow(strips: ReadonlySet<number>, files: LaneFiles | undefined): Promise<void> {
    const from = Math.min(...strips);
    if (from < this.next) {
      const start = this.states.get(from);
      if (!start || !files) throw new TesseraError(`strip ${from} of ${this.name}: written before this run, it cannot be taken back out`);
      for (let strip = from; strip < this.next; strip++) {
        if (!strips.has(strip)) await this.holding.hold(`${this.name}-${strip}`, await this.readBack(strip, files.grey));
      }
      await Promise.all([files.grey.rewind(start.grey), files.colour.rewind(start.colour)]);
      for (const count of [...this.states.keys()]) if (count > from) this.states.delete(count);
      this.next = from;
    }
    for (const strip of strips) {
      this.received.delete(strip);
      await this.holding.discard(`${this.name}-${strip}`);
    }
  }

  /** Written strip `strip` as it is in `file`: its IDAT chunk(s), the rows inside them. */
  private async readBack(strip: number, file: PngStitcher): Promise<StripData> {
    const before = this.states.get(strip)?.grey;
    const after = this.states.get(strip + 1)?.grey;
    const adler32 = this.adlers.get(strip);
    if (!before || !after || adler32 === undefined) throw new TesseraError(`strip ${strip} of ${this.name}: its place in the file is not known`);
    const bytes = await file.readRange(before.bytes, after.bytes);
    const rows: Buffer[] = [];
    for (let at = 0; at < bytes.length; ) {
      const length = bytes.readUInt32BE(at);
      if (bytes.toString('latin1', at + 4, at + 8) !== 'IDAT') throw new TesseraError(`strip ${strip} of ${this.name}: not IDAT chunks in the file`);
      rows.push(bytes.subarray(at + 8, at + 8 + length));
      at += 12 + length;
    }
    const sizes = { adler32, filteredLength: after.filteredBytes - before.filteredBytes };
    return rows.length === 1 ? { ...sizes, chunk: bytes, deflate: rows[0]! } : { ...sizes, deflate: Buffer.concat(rows) };
  }

  private async writeOrHold(strip: number, data: StripData, files: LaneFiles): Promise<void> {
    if (strip !== this.next) return this.holding.hold(`${this.name}-${strip}`, data);
    // Where the files stood before this lane's first write (a rewind may go back there).
    if (!this.states.has(this.next)) this.states.set(this.next, { grey: files.grey.state(), colour: files.colour.state() });
    let ready: StripData | undefined = data;
    while (ready) {
      await Promise.all([files.grey.append(ready), files.colour.append(ready)]);
      this.adlers.set(this.next, ready.adler32);
      this.next++;
      this.states.set(this.next, { grey: files.grey.state(), colour: files.colour.state() });
      ready = await this.holding.take(`${this.name}-${this.next}`);
    }
  }
}
