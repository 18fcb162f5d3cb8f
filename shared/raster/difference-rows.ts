/**
 * The integer normalised-difference row kernel in WebAssembly SIMD (shared/wasm/difference-rows.wat), for
 * 16-bit samples: the same codes and bit-identical statistics as index-kernels.ts's exactRow, 1.9–2.4
 * times as fast on whole strips (bench/index-kernels.ts, 2026-12-02). One instance per thread that computes indices: its
 * memory holds one chunk of a row at a time, and the calls are synchronous, so nothing interleaves.
 */
import type { IndexAccumulator } from './index-kernels.js';
import { WASM_BASE64 } from '../wasm/generated/difference-rows.js';

/** Pixels per call: the module's memory layout (A at 0, B at 2·CHUNK, codes at 4·CHUNK). */
const CHUNK = 8192;
/** Never a 16-bit sample, so a band without a matching no-data value marks nothing. */
const NO_MATCH = 0x7fffffff;

interface DifferenceExports {
  readonly memory: WebAssembly.Memory;
  readonly sum: WebAssembly.Global;
  readonly min: WebAssembly.Global;
  readonly max: WebAssembly.Global;
  readonly differenceRow: (n: number, nodataA: number, nodataB: number, offset: number, signed: number) => number;
}

/** The sample arrays the kernel takes. */
export type SixteenBitSamples = Uint16Array | Int16Array;

export function isSixteenBit(values: unknown): values is SixteenBitSamples {
  return values instanceof Uint16Array || values instanceof Int16Array;
}

export class DifferenceRows {
  readonly #exports: DifferenceExports;
  readonly #unsignedA: Uint16Array;
  readonly #unsignedB: Uint16Array;
  readonly #signedA: Int16Array;
  readonly #signedB: Int16Array;
  readonly #codes: Uint8Array;

  /** Compiles and instantiates the module (synchronously: it is about a kilobyte). */
  constructor() {
    const module = new WebAssembly.Module(Buffer.from(WASM_BASE64, 'base64'));
    this.#exports = new WebAssembly.Instance(module).exports as unknown as DifferenceExports;
    const { buffer } = this.#exports.memory;
    this.#unsignedA = new Uint16Array(buffer, 0, CHUNK);
    this.#unsignedB = new Uint16Array(buffer, 2 * CHUNK, CHUNK);
    this.#signedA = new Int16Array(buffer, 0, CHUNK);
    this.#signedB = new Int16Array(buffer, 2 * CHUNK, CHUNK);
    this.#codes = new Uint8Array(buffer, 4 * CHUNK, CHUNK);
  }

  /**
   * exactRow's contract: n pixels of `va` from `ia` and of `vb` from `ib` (both 16-bit, of the same
   * signedness), an integer `offset` with |offset| ≤ 2^22, codes written from `out`, `acc` updated.
   */
  row(va: SixteenBitSamples, ia: number, nodataA: number, vb: SixteenBitSamples, ib: number, nodataB: number, n: number, offset: number, codes: Uint8Array, out: number, acc: IndexAccumulator): void {
    const signed = va instanceof Int16Array;
    if (signed !== vb instanceof Int16Array) throw new TypeError('DifferenceRows: both bands must be signed or both unsigned');
    const { sum, min, max, differenceRow } = this.#exports;
    const inA = signed ? this.#signedA : this.#unsignedA;
    const inB = signed ? this.#signedB : this.#unsignedB;
    const ndA = matchable(nodataA, signed);
    const ndB = matchable(nodataB, signed);
    sum.value = acc.sum;
    min.value = acc.min;
    max.value = acc.max;
    let valid = acc.valid;
    for (let k = 0; k < n; k += CHUNK) {
      const m = Math.min(CHUNK, n - k);
      inA.set(va.subarray(ia + k, ia + k + m));
      inB.set(vb.subarray(ib + k, ib + k + m));
      valid += differenceRow(m, ndA, ndB, offset, signed ? 1 : 0);
      codes.set(m === CHUNK ? this.#codes : this.#codes.subarray(0, m), out + k);
    }
    acc.valid = valid;
    acc.sum = sum.value;
    acc.min = min.value;
    acc.max = max.value;
  }
}

/** The no-data value as the kernel compares it: itself when a sample can equal it, else NO_MATCH. */
function matchable(nodata: number, signed: boolean): number {
  const [lo, hi] = signed ? [-32768, 32767] : [0, 65535];
  return Number.isInteger(nodata) && nodata >= lo && nodata <= hi ? nodata : NO_MATCH;
}
