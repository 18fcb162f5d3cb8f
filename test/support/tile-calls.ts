/**
 * One TileService call each, as promises, with the caller's own metadata: for tests that speak to
 * the master as a raw client would (strangers, forgers), not as a TileWorker.
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import type {
  GetTaskResponse__Output,
  SourceChunk__Output,
  SubmitResultRequest,
  SubmitResultResponse__Output,
  TileServiceClient,
} from '../../shared/proto/tile-service.js';

const DEADLINE_MS = 20_000;

export function getTask(client: TileServiceClient, metadata: grpc.Metadata, workerId: string): Promise<GetTaskResponse__Output> {
  return new Promise((resolve, reject) => {
    client.GetTask({ workerId }, metadata, { deadline: Date.now() + DEADLINE_MS }, (error, value) =>
      error ? reject(error) : value ? resolve(value) : reject(new Error('empty GetTask response')),
    );
  });
}

export interface Claim {
  readonly workerId: string;
  readonly taskId: string;
  readonly attempt: number;
}

export function readSources(client: TileServiceClient, metadata: grpc.Metadata, claim: Claim): Promise<SourceChunk__Output[]> {
  return new Promise((resolve, reject) => {
    const chunks: SourceChunk__Output[] = [];
    const call = client.ReadSources(claim, metadata, { deadline: Date.now() + DEADLINE_MS });
    call.on('data', (chunk: SourceChunk__Output) => chunks.push(chunk));
    call.on('error', reject);
    call.on('end', () => resolve(chunks));
  });
}

export function submitResult(client: TileServiceClient, metadata: grpc.Metadata, request: SubmitResultRequest): Promise<SubmitResultResponse__Output> {
  return new Promise((resolve, reject) => {
    client.SubmitResult(request, metadata, { deadline: Date.now() + DEADLINE_MS }, (error, value) =>
      error ? reject(error) : value ? resolve(value) : reject(new Error('empty SubmitResult response')),
    );
  });
}

/** The gRPC status a call ended with; fails the test if it succeeded. */
export async function codeOf(call: Promise<unknown>): Promise<grpc.status> {
  try {
    await call;
  } catch (error) {
    const code = (error as Partial<grpc.ServiceError>).code;
    assert.equal(typeof code, 'number', `not a gRPC error: ${String(error)}`);
    return code as grpc.status;
  }
  return assert.fail('expected the call to fail');
}

