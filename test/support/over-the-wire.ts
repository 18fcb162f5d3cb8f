/**
 * A strip's task and source data sent through real protobuf encoding, as GetTask and ReadSources
 * carry them from the master to a worker, then assembled by the worker's SourceAssembler.
 */
import assert from 'node:assert/strict';
import type { BandSet } from '../../master/source/band-set.js';
import type { PlannedStrip } from '../../master/source/strip-plan.js';
import { describeStrip, type StripSources } from '../../master/source/strip-reader.js';
import {
  loadTesseraProto,
  type SourceChunk,
  type SourceChunk__Output,
  type SubmitResultRequest,
  type SubmitResultRequest__Output,
  type TileTask,
  type TileTask__Output,
} from '../../shared/proto/tile-service.js';
import type { SampleArray } from '../../shared/types.js';
import { serializeSourceChunk } from '../../shared/proto/source-chunk-wire.js';
import { SourceAssembler } from '../../worker/source-assembler.js';

/** Parsed once: reading the .proto for every strip made the pixel-by-pixel tests slower for nothing. */
const service = loadTesseraProto().tessera.v1.TileService.service;
/** The serializer the master's TileServer uses for ReadSources (hand-encoded chunks go as they are). */
const serializeChunk = serializeSourceChunk(service.ReadSources.responseSerialize);

export interface StripOnWorker {
  readonly sources: StripSources;
  readonly task: TileTask__Output;
  /** The chunks as the worker received them. */
  readonly chunks: readonly SourceChunk__Output[];
}

/** A task as GetTask delivers it to a worker. */
export function taskOverTheWire(task: TileTask): TileTask__Output {
  const delivered = service.GetTask.responseDeserialize(service.GetTask.responseSerialize({ task })).task;
  assert.ok(delivered);
  return delivered;
}

/** Source chunks as ReadSources delivers them. */
export async function* chunksOverTheWire(chunks: AsyncIterable<SourceChunk>): AsyncGenerator<SourceChunk__Output> {
  for await (const chunk of chunks) yield service.ReadSources.responseDeserialize(serializeChunk(chunk));
}

/** A result as SubmitResult delivers it to the master. */
export function resultOverTheWire(result: SubmitResultRequest): SubmitResultRequest__Output {
  return service.SubmitResult.requestDeserialize(service.SubmitResult.requestSerialize(result));
}

/** describeStrip, then the task and every chunk serialised and parsed again. */
export async function stripOverTheWire(set: Pick<BandSet, 'grid' | 'bands'>, strip: PlannedStrip, options: { chunkBytes?: number } = {}): Promise<StripOnWorker> {
  const sources = await describeStrip(set, strip, options);
  const task = taskOverTheWire({
    taskId: `r/${strip.index}`,
    requestId: 'r',
    tileIndex: strip.index,
    attempt: 1,
    width: set.grid.width,
    height: strip.rows,
    indices: ['ndvi'],
    sources: sources.sources,
    bands: sources.bands,
    sourceBytes: sources.bytes,
  });
  const chunks: SourceChunk__Output[] = [];
  for await (const chunk of chunksOverTheWire(sources.chunks())) chunks.push(chunk);
  return { sources, task, chunks };
}

/** What the worker decodes from a strip's chunks: per source window, sample → values. */
export async function assemble(task: TileTask__Output, chunks: Iterable<SourceChunk__Output>): Promise<Map<number, SampleArray>[]> {
  const assembler = new SourceAssembler(task);
  for (const chunk of chunks) await assembler.accept(chunk);
  return assembler.finish();
}
