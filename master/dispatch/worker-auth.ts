/**
 * The worker token check: a gRPC server interceptor in front of every TileService method. A call
 * must carry `authorization: Bearer <WORKER_TOKEN>`; otherwise it ends UNAUTHENTICATED as soon as
 * its metadata arrives — before the request message is even read, so no handler runs: no tile is
 * handed out, no long poll parks, no source data is read and no result is looked at. Other services
 * (grpc.health.v1, for container health checks) pass untouched.
 *
 * The token is compared in constant time: SHA-256 digests of both (equal length whatever was sent)
 * with crypto.timingSafeEqual. Only the expected digest is kept. The header is removed before the
 * call goes on, so no handler sees the token, and refusals are logged without what was presented.
 */
import * as grpc from '@grpc/grpc-js';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RefusalLog } from './refusal-log.js';

export type TokenVerdict = 'ok' | 'missing' | 'malformed' | 'wrong';

const AUTHORIZATION = 'authorization';
const BEARER = /^Bearer +([^\s]+) *$/i;

export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Judges the `authorization` values of a call's metadata against the expected token's digest. */
export function checkBearerToken(values: readonly grpc.MetadataValue[], expected: Buffer): TokenVerdict {
  if (values.length === 0) return 'missing';
  const [value] = values;
  if (values.length > 1 || typeof value !== 'string') return 'malformed';
  const presented = BEARER.exec(value)?.[1];
  if (presented === undefined) return 'malformed';
  return timingSafeEqual(tokenDigest(presented), expected) ? 'ok' : 'wrong';
}

const DETAILS: Record<Exclude<TokenVerdict, 'ok'>, string> = {
  missing: 'no worker token: set WORKER_TOKEN on this worker to the master\'s',
  malformed: 'the authorization metadata is not one "Bearer <token>"',
  wrong: 'wrong worker token: set WORKER_TOKEN on this worker to the master\'s',
};

export interface WorkerAuthOptions {
  readonly token: string;
  /** The fully qualified service guarded, e.g. tessera.v1.TileService. */
  readonly service: string;
  readonly refusals: RefusalLog;
}

/** The server interceptor; install it with the grpc.Server's `interceptors` option. */
export function workerAuthInterceptor(options: WorkerAuthOptions): grpc.ServerInterceptor {
  const expected = tokenDigest(options.token);
  const prefix = `/${options.service}/`;
  return (method, call) => {
    if (!method.path.startsWith(prefix)) return new grpc.ServerInterceptingCall(call);
    const listener = new grpc.ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const verdict = checkBearerToken(metadata.get(AUTHORIZATION), expected);
        if (verdict === 'ok') {
          metadata.remove(AUTHORIZATION);
          next(metadata);
          return;
        }
        // Not calling next(): the handler never starts, and the message is never read.
        options.refusals.refused(call.getConnectionInfo().remoteAddress ?? 'unknown', method.path.slice(prefix.length), verdict);
        call.sendStatus({ code: grpc.status.UNAUTHENTICATED, details: DETAILS[verdict] });
      })
      .build();
    return new grpc.ServerInterceptingCall(call, { start: (next) => next(listener) });
  };
}
