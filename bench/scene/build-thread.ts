/** A scene build thread: encodes the block rows the main thread asks for (see build-scene.ts). */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { encodeBlockRow } from './block-row.js';
import { createGround } from './ground.js';
import type { SceneSpec } from './spec.js';

export interface BlockRowTask {
  readonly band: number;
  readonly row: number;
}

export interface BlockRowResult extends BlockRowTask {
  readonly blocks: Uint8Array[];
  readonly renderMs: number;
  readonly encodeMs: number;
}

function serve(port: MessagePort, spec: SceneSpec): void {
  const ground = createGround(spec.width, spec.height);
  port.on('message', (task: BlockRowTask) => {
    const encoded = encodeBlockRow(ground, spec, task.band, task.row);
    const result: BlockRowResult = { ...task, ...encoded };
    // Copied, not transferred: a small block may be a slice of Node's shared Buffer pool.
    port.postMessage(result);
  });
}

if (parentPort) serve(parentPort, (workerData as { spec: SceneSpec }).spec);
