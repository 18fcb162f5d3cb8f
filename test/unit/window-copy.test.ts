/**
 * copyBlockIntoWindow summing predictor 2's horizontal differences as it copies (the worker's path for
 * DEFLATE + predictor 2 blocks) against undoing the predictor over the whole block first and copying
 * (block-predictor.ts, the path it replaced): every integer sample type, wrapping sums, windows that
 * start and end inside the block.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EncodedLayout__Output, SourceWindow__Output } from '../../shared/proto/tile-service.js';
import { undoHorizontalPredictor } from '../../shared/raster/block-predictor.js';
import { HorizontalSums } from '../../shared/raster/horizontal-sums.js';
import { SAMPLE_ARRAYS, SAMPLE_BYTES, type SampleType } from '../../shared/types.js';
import { canSumWhileCopying, copyBlockIntoWindow } from '../../worker/window-copy.js';
import { prng } from '../support/prng.js';

const BLOCK = 24;
const TYPES: readonly SampleType[] = ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32'];

function layoutFor(sampleType: SampleType): EncodedLayout__Output {
  return {
    compression: 8, predictor: 2, blockWidth: BLOCK, blockHeight: BLOCK, samplesPerPixel: 1, planarConfiguration: 1,
    bitsPerSample: [SAMPLE_BYTES[sampleType] * 8], littleEndian: true, blocks: [], direct: null,
    imageWidth: 3 * BLOCK, imageHeight: 3 * BLOCK, sampleFormat: sampleType.startsWith('int') ? 2 : 1, tiled: true,
  };
}

describe('copyBlockIntoWindow with horizontal differences', () => {
  it('equals undoing predictor 2 first, for every integer type and windows cutting the block', () => {
    const rand = prng(24);
    const sums = new HorizontalSums();
    for (const sampleType of TYPES) {
      const layout = layoutFor(sampleType);
      assert.ok(canSumWhileCopying(layout, sampleType));
      const Ctor = SAMPLE_ARRAYS[sampleType];
      for (let n = 0; n < 20; n++) {
        const differences = new Ctor(BLOCK * BLOCK);
        const bytes = new Uint8Array(differences.buffer);
        for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rand() * 256); // sums wrap
        const x0 = BLOCK + Math.floor(rand() * BLOCK) - 4;
        const y0 = BLOCK + Math.floor(rand() * BLOCK) - 4;
        const window: SourceWindow__Output = { x0, y0, width: 1 + Math.floor(rand() * 30), height: 1 + Math.floor(rand() * 30), sampleType, layout: 'encoded', encoded: layout, decoded: null };
        const block = { column: 1, row: 1, sample: 0, byteCount: 1, offset: 0 };
        const undone = differences.slice();
        undoHorizontalPredictor(undone.buffer as ArrayBuffer, SAMPLE_BYTES[sampleType] as 1 | 2 | 4, BLOCK, BLOCK, 1);
        const want = new Ctor(window.width * window.height);
        const got = new Ctor(window.width * window.height);
        const gotWasm = new Ctor(window.width * window.height);
        copyBlockIntoWindow({ window, layout, block, values: undone, arrays: new Map([[0, want]]) });
        copyBlockIntoWindow({ window, layout, block, values: differences, arrays: new Map([[0, got]]), horizontalDifferences: true });
        // 16-bit samples take the WebAssembly sums (the block is 24 wide, a multiple of 8); the others the loop.
        copyBlockIntoWindow({ window, layout, block, values: differences, arrays: new Map([[0, gotWasm]]), horizontalDifferences: true, sums });
        assert.deepEqual(got, want, `${sampleType} window ${x0},${y0} ${window.width}×${window.height}`);
        assert.deepEqual(gotWasm, want, `${sampleType} window ${x0},${y0} ${window.width}×${window.height}, WebAssembly sums`);
      }
    }
  });

  it('is not used for floating-point samples or several samples per pixel', () => {
    assert.equal(canSumWhileCopying(layoutFor('float32'), 'float32'), false);
    assert.equal(canSumWhileCopying({ ...layoutFor('uint16'), samplesPerPixel: 3 }, 'uint16'), false);
    assert.equal(canSumWhileCopying({ ...layoutFor('uint16'), samplesPerPixel: 3, planarConfiguration: 2 }, 'uint16'), true);
    assert.equal(canSumWhileCopying({ ...layoutFor('uint16'), predictor: 1 }, 'uint16'), false);
  });
});
