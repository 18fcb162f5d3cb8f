/** A scene build thread: encodes the block rows the main thread asks for (see build-scene.ts). */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { encodeBlockRow, type BlockRowScratch } from './block-row.js';
import { createGround } from './ground.js';
import type { SceneSpec } from './spec.js';

export interface BlockRowTask {
  readonly band: number;
  readonly row: number;
}

export interface BlockRowResult extends BlockRowTask {
  /** The row's encoded blocks, end to end in one buffer (transferred, not copied). */
  readonly data: Uint8Array;
  readonly blockSizes: readonly number[];
  readonly renderMs: number;
  readonly encodeMs: number;
}

function serve(port: MessagePort, spec: SceneSpec): void {
  const ground = createGround(spec.width, spec.height);
  const scratch: BlockRowScratch = {};
  port.on('message', (task: BlockRowTask) => {
    const { blocks, renderMs, encodeMs } = encodeBlockRow(ground, spec, task.band, task.row, scratch);
    // Joined into a buffer of our own to transfer: a small block may be a slice of Node's shared Buffer pool.
    const data = new Uint8Array(blocks.reduce((sum, b) => sum + b.length, 0));
    blocks.reduce((at, block) => (data.set(block, at), at + block.length), 0);
    const result: BlockRowResult = { ...task, data, blockSizes: blocks.map((b) => b.length), renderMs, encodeMs };
    port.postMessage(result, [data.buffer]);
  });
}

if (parentPort) serve(parentPort, (workerData as { spec: SceneSpec }).spec);
