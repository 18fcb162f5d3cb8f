/** A tile payload sent through real protobuf encoding, as the master → worker GetTask call would send it. */
import assert from 'node:assert/strict';
import type { PlannedTile } from '../../master/source/tile-plan.js';
import type { TilePayload } from '../../master/source/tile-reader.js';
import { loadTesseraProto, type TileTask__Output } from '../../shared/proto/tile-service.js';

/** Parsed once: reading the .proto for every tile made the pixel-by-pixel tests slower for nothing. */
const getTask = loadTesseraProto().tessera.v1.TileService.service.GetTask;

export function overTheWire(payload: TilePayload, tile: PlannedTile): TileTask__Output {
  const bytes = getTask.responseSerialize({
    task: {
      taskId: `r/${tile.index}`,
      requestId: 'r',
      tileIndex: tile.index,
      attempt: 1,
      width: tile.width,
      height: tile.height,
      indices: ['ndvi'],
      sources: payload.sources,
      bands: payload.bands,
    },
  });
  const task = getTask.responseDeserialize(bytes).task;
  assert.ok(task);
  return task;
}
