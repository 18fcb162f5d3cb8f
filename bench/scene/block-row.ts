/** One block row of one band of a synthetic tile, rendered and encoded as its file stores it. */
import { performance } from 'node:perf_hooks';
import { blockRows, encodeBlock, planGeoTiff } from '../../test/support/tiff-layout.js';
import type { Ground } from './ground.js';
import { renderRows } from './render.js';
import { bandFormat, type SceneSpec } from './spec.js';

export interface EncodedBlockRow {
  /** The row's blocks, left to right, DEFLATE-compressed with the predictor applied. */
  readonly blocks: Uint8Array[];
  readonly renderMs: number;
  readonly encodeMs: number;
}

/** Buffers one caller reuses from block row to block row (grown as needed), so rows make little garbage. */
export interface BlockRowScratch {
  pixels?: Uint16Array;
  tile?: Uint16Array;
}

export function encodeBlockRow(ground: Ground, spec: SceneSpec, bandIndex: number, row: number, scratch: BlockRowScratch = {}): EncodedBlockRow {
  const band = spec.bands[bandIndex];
  if (!band) throw new Error(`scene ${spec.name} has no band ${bandIndex}`);
  const layout = planGeoTiff(bandFormat(spec, band), 1);
  const { blockWidth, blockHeight } = layout;
  const started = performance.now();
  const rows = Math.min(blockHeight, band.height - row * blockHeight);
  if ((scratch.pixels?.length ?? 0) < rows * band.width) scratch.pixels = new Uint16Array(rows * band.width);
  const pixels = scratch.pixels!.subarray(0, rows * band.width);
  renderRows(ground, band, row * blockHeight, rows, spec, pixels);
  const rendered = performance.now();
  const blocks: Uint8Array[] = [];
  // One tile buffer (encodeBlock clobbers it, every tile overwrites it).
  if (scratch.tile?.length !== blockWidth * blockHeight) scratch.tile = new Uint16Array(blockWidth * blockHeight);
  const tile = scratch.tile;
  for (let column = 0; column < layout.across; column++) {
    const left = column * blockWidth;
    const right = Math.min(left + blockWidth, band.width);
    // Tiles are stored full size; past the image's right or bottom edge they hold 0.
    if (right - left < blockWidth || rows < blockHeight) tile.fill(0);
    for (let y = 0; y < rows; y++) tile.set(pixels.subarray(y * band.width + left, y * band.width + right), y * blockWidth);
    blocks.push(encodeBlock(layout, new Uint8Array(tile.buffer), blockRows(layout, row)));
  }
  return { blocks, renderMs: rendered - started, encodeMs: performance.now() - rendered };
}
