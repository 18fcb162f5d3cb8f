/**
 * Placing decoded blocks into a source window's arrays: typed arrays by sample type, the check
 * that the blocks a task lists cover its window, and the copy of a block's overlap with the window
 * (a row at a time for one-sample blocks; value by value to de-interleave chunky ones).
 */
import { TesseraError } from '../shared/errors.js';
import type { BlockRef__Output, EncodedLayout__Output, SourceWindow__Output } from '../shared/proto/tile-service.js';
import { SAMPLE_ARRAYS, SAMPLE_BYTES, type SampleArray, type SampleType } from '../shared/types.js';
import type { HorizontalSums } from '../shared/raster/horizontal-sums.js';


/** A zeroed array of `length` values, or a view of `bytes` (whole values only; aligned, as decodeBlock's are). */
export function typedArrayOf(type: SampleType, source: number | Uint8Array<ArrayBuffer>): SampleArray {
  const Ctor = SAMPLE_ARRAYS[type];
  if (typeof source === 'number') return new Ctor(source);
  return new Ctor(source.buffer, source.byteOffset, Math.floor(source.byteLength / SAMPLE_BYTES[type]));
}

/** Throws unless every block the window needs is listed exactly once, for every plane needed. */
export function checkBlocksCover(window: SourceWindow__Output, layout: EncodedLayout__Output, samples: Iterable<number>, where: string): void {
  const { blockWidth, blockHeight } = layout;
  if (!(blockWidth > 0 && blockHeight > 0)) throw new TesseraError(`${where}: invalid block size ${blockWidth}×${blockHeight}`);
  if (window.width * window.height === 0) return;
  const chunky = layout.planarConfiguration === 1;
  const listed = new Set<string>();
  for (const block of layout.blocks) {
    const key = `${chunky ? 0 : block.sample}/${block.column}/${block.row}`;
    if (listed.has(key)) throw new TesseraError(`${where}: block (${block.column}, ${block.row}) sample ${block.sample} is listed twice`);
    listed.add(key);
  }
  for (const plane of chunky ? [0] : samples) {
    for (let row = Math.floor(window.y0 / blockHeight); row <= Math.floor((window.y0 + window.height - 1) / blockHeight); row++) {
      for (let column = Math.floor(window.x0 / blockWidth); column <= Math.floor((window.x0 + window.width - 1) / blockWidth); column++) {
        if (!listed.has(`${plane}/${column}/${row}`)) {
          throw new TesseraError(`${where}: block (${column}, ${row})${chunky ? '' : ` of sample ${plane}`} is not listed`);
        }
      }
    }
  }
}

export interface BlockPlacement {
  readonly window: SourceWindow__Output;
  readonly layout: EncodedLayout__Output;
  readonly block: BlockRef__Output;
  /** The block's decoded values (blockWidth × stored rows × samples in the block). */
  readonly values: SampleArray;
  /** Sample number → the window's array to fill. */
  readonly arrays: ReadonlyMap<number, SampleArray>;
  /**
   * The values still hold predictor 2's horizontal differences (decodeBlock's keepHorizontalDifferences;
   * integer samples, one per pixel): each needed row is summed from the block's first column as it is
   * copied, the typed-array store wrapping the running sum to the sample width as the predictor does.
   */
  readonly horizontalDifferences?: boolean;
  /** Sums 16-bit differences in WebAssembly where it takes the block (else the loop below does it). */
  readonly sums?: HorizontalSums | undefined;
}

/** Whether copyBlockIntoWindow can undo predictor 2 itself for this layout and sample type. */
export function canSumWhileCopying(layout: EncodedLayout__Output, sampleType: SampleType): boolean {
  const onePerPixel = layout.planarConfiguration !== 1 || layout.samplesPerPixel === 1;
  return layout.predictor === 2 && onePerPixel && !sampleType.startsWith('float');
}

/** Copies the part of a decoded block that lies inside the window into the window's arrays. */
export function copyBlockIntoWindow({ window, layout, block, values, arrays, horizontalDifferences = false, sums }: BlockPlacement): void {
  const { blockWidth, blockHeight } = layout;
  const chunky = layout.planarConfiguration === 1;
  const perPixel = chunky ? layout.samplesPerPixel : 1;
  const storedRows = Math.floor(values.length / (blockWidth * perPixel));
  const bx0 = block.column * blockWidth;
  const by0 = block.row * blockHeight;
  const xStart = Math.max(window.x0, bx0);
  const xEnd = Math.min(window.x0 + window.width, bx0 + blockWidth);
  const yStart = Math.max(window.y0, by0);
  const yEnd = Math.min(window.y0 + window.height, by0 + blockHeight);
  if (yEnd - by0 > storedRows) {
    throw new TesseraError(`block (${block.column}, ${block.row}) decoded to ${storedRows} rows; the window needs ${yEnd - by0}`);
  }
  const targets = chunky ? [...arrays.entries()] : arrays.has(block.sample) ? [[block.sample, arrays.get(block.sample)!] as const] : [];
  for (const [sample, out] of targets) {
    if (horizontalDifferences && perPixel === 1 && sums) {
      const at = (yStart - window.y0) * window.width - window.x0 + bx0; // the window's index of the block's first row and column
      if (sums.sumRowsInto(values, (yStart - by0) * blockWidth, yEnd - yStart, blockWidth, xStart - bx0, xEnd - bx0, { out, at, outStride: window.width })) continue;
    }
    for (let y = yStart; y < yEnd; y++) {
      const outRow = (y - window.y0) * window.width - window.x0;
      const inRow = (y - by0) * blockWidth - bx0;
      if (horizontalDifferences) {
        if (perPixel !== 1) throw new TesseraError('copyBlockIntoWindow: horizontal differences are summed only for one sample per pixel');
        sumRowInto(values, inRow + bx0, xStart - bx0, xEnd - bx0, out, outRow + bx0);
      } else if (perPixel === 1) {
        out.set(values.subarray(inRow + xStart, inRow + xEnd), outRow + xStart);
      } else {
        for (let x = xStart; x < xEnd; x++) out[outRow + x] = values[(inRow + x) * perPixel + sample]!;
      }
    }
  }
}

/**
 * Running sum of `values` from `from` over [0, end), written to `out` from `at` for [start, end): the
 * row's samples with predictor 2 undone, only the columns the window needs stored. Unrolled by 4 as
 * block-predictor.ts's loops are (measured there: a third faster).
 */
function sumRowInto(values: SampleArray, from: number, start: number, end: number, out: SampleArray, at: number): void {
  let acc = 0;
  let x = 0;
  for (; x < start; x++) acc = (acc + values[from + x]!) | 0;
  const src = values.subarray(from + start, from + end);
  const dst = out.subarray(at + start, at + end);
  const n = end - start;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    acc = (acc + src[i]!) | 0;
    dst[i] = acc;
    acc = (acc + src[i + 1]!) | 0;
    dst[i + 1] = acc;
    acc = (acc + src[i + 2]!) | 0;
    dst[i + 2] = acc;
    acc = (acc + src[i + 3]!) | 0;
    dst[i + 3] = acc;
  }
  for (; i < n; i++) {
    acc = (acc + src[i]!) | 0;
    dst[i] = acc;
  }
}
