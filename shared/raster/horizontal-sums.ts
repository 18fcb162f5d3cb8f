/**
 * TIFF predictor 2 undone for 16-bit samples in WebAssembly SIMD (shared/wasm/horizontal-sums.wat): each
 * row of a block's horizontal differences becomes its running sum, wrapped to 16 bits as the predictor
 * does, and the window's columns of it are copied out. The same values as the JavaScript loop in
 * worker/window-copy.ts (which keeps every other case: 8- and 32-bit samples, block widths that are not
 * a multiple of 8), in a little over half its time (1.46 against 2.62 ms for a 1024² block into a
 * 10980-wide window, bench/decode-kernels.ts, 2026-12-04).
 *
 * One instance per thread that copies blocks: its memory holds a chunk of a block's rows at a time, and
 * the calls are synchronous, so nothing interleaves.
 */
import { WASM_BASE64 } from '../wasm/generated/horizontal-sums.js';
import type { SampleArray } from '../types.js';
import { isSixteenBit } from './difference-rows.js';

/** 16-bit samples the module's memory holds (its four 64 KiB pages): 128 rows of a 1024-px block. */
const CAPACITY = (4 * 65536) / 2;

interface HorizontalSumsExports {
  readonly memory: WebAssembly.Memory;
  readonly sumRows: (rows: number, n: number, stride: number) => void;
}

/** Where sumRowsInto puts a block's rows: `out[at + r * outStride + c]` for block row r, column c. */
export interface RowsTarget {
  readonly out: SampleArray;
  readonly at: number;
  readonly outStride: number;
}

export class HorizontalSums {
  readonly #sumRows: HorizontalSumsExports['sumRows'];
  readonly #unsigned: Uint16Array;
  readonly #signed: Int16Array;

  /** Compiles and instantiates the module (synchronously: it is a few hundred bytes). */
  constructor() {
    const module = new WebAssembly.Module(Buffer.from(WASM_BASE64, 'base64'));
    const exports = new WebAssembly.Instance(module).exports as unknown as HorizontalSumsExports;
    this.#sumRows = exports.sumRows;
    this.#unsigned = new Uint16Array(exports.memory.buffer, 0, CAPACITY);
    this.#signed = new Int16Array(exports.memory.buffer, 0, CAPACITY);
  }

  /**
   * `rows` rows of `width` differences from `values[from]`, each summed from its first column; columns
   * [start, end) of each stored in `target`. Returns false, having done nothing, unless the samples are
   * 16-bit, of one type in and out, and the rows a multiple of 8 wide and at most CAPACITY.
   */
  sumRowsInto(values: SampleArray, from: number, rows: number, width: number, start: number, end: number, target: RowsTarget): boolean {
    const { out, at, outStride } = target;
    if (!isSixteenBit(values) || !isSixteenBit(out) || values instanceof Int16Array !== out instanceof Int16Array) return false;
    if (width % 8 !== 0 || width <= 0 || width > CAPACITY || !(0 <= start && start <= end && end <= width)) return false;
    const heap = values instanceof Int16Array ? this.#signed : this.#unsigned;
    const perChunk = Math.floor(CAPACITY / width);
    for (let first = 0; first < rows; first += perChunk) {
      const count = Math.min(perChunk, rows - first);
      heap.set(values.subarray(from + first * width, from + (first + count) * width));
      this.#sumRows(count, end, width);
      for (let r = 0; r < count; r++) out.set(heap.subarray(r * width + start, r * width + end), at + (first + r) * outStride + start);
    }
    return true;
  }
}
