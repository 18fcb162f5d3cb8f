/**
 * The master's gRPC endpoint: TileService (GetTask long polls, ReadSources streams, SubmitResult)
 * over a TileDispatcher, plus grpc.health.v1 so container health checks and load balancers can ask
 * whether it serves. With a worker token every TileService call must carry it (worker-auth.ts);
 * health stays open. With TLS (and a client CA, mutual TLS) every connection is encrypted (and
 * must present a client certificate).
 */
import * as grpc from '@grpc/grpc-js';
import { once } from 'node:events';
import { isLoopbackAddress } from '../../shared/config/loopback.js';
import { describeError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import {
  loadTesseraProto,
  messageSizeOptions,
  type SourceChunk,
  type TileServiceHandlers,
} from '../../shared/proto/tile-service.js';
import { releaseChunk, serializeSourceChunk } from '../../shared/proto/source-chunk-wire.js';
import { HealthService } from './health-service.js';
import { PollLimits, type PollLimitOptions } from './poll-limits.js';
import { RefusalLog } from './refusal-log.js';
import { serverCredentials, transportMode, type ServerTls } from './server-credentials.js';
import { LeaseLostError, type TileDispatcher } from './tile-dispatcher.js';
import { workerAuthInterceptor } from './worker-auth.js';

export const TILE_SERVICE_NAME = 'tessera.v1.TileService';

export interface TileServerOptions {
  readonly dispatcher: TileDispatcher;
  /** host:port; port 0 picks a free one (see TileServer.port). */
  readonly listen: string;
  readonly longPollMs: number;
  readonly maxMessageBytes: number;
  /** Parked long polls allowed per peer and in all (default DEFAULT_POLL_LIMITS). */
  readonly pollLimits?: PollLimitOptions;
  readonly log: Logger;
  /** Required of every TileService call. Unset: TileService is open (loadMasterConfig allows that on loopback only). */
  readonly workerToken?: string | undefined;
  /** Unset: plain gRPC. */
  readonly tls?: ServerTls | undefined;
}

export interface TileServer {
  readonly port: number;
  readonly health: HealthService;
  /** Graceful: ends long polls, waits up to timeoutMs for calls in flight, then forces. */
  stop(options?: { timeoutMs?: number }): Promise<void>;
}

/** The Attend calls open now (ended by stop(), which would otherwise wait for them). */
type AttendCalls = Set<grpc.ServerWritableStream<unknown, unknown>>;

function handlers(options: TileServerOptions, attending: AttendCalls): TileServiceHandlers {
  const { dispatcher, longPollMs, log } = options;
  const polls = new PollLimits(options.pollLimits);
  return {
    Attend(call) {
      const { workerId } = call.request;
      const connection = call.getPeer();
      attending.add(call);
      dispatcher.workerAttending(workerId);
      let ended = false;
      const gone = (): void => {
        if (ended) return;
        ended = true;
        attending.delete(call);
        dispatcher.releaseWorker(workerId, connection);
      };
      call.on('cancelled', gone);
      call.on('close', gone);
      call.on('error', gone);
    },
    GetTask(call, callback) {
      const peer = call.getPeer();
      const leave = polls.enter(peer);
      if (!leave) return callback({ code: grpc.status.RESOURCE_EXHAUSTED, details: polls.describe(peer) });
      const abort = new AbortController();
      call.on('cancelled', () => abort.abort());
      const workerId = call.request.workerId || peer;
      dispatcher
        .nextTask(workerId, longPollMs, abort.signal, peer)
        .then((task) => {
          if (abort.signal.aborted && task === null) return;
          callback(null, task ? { task } : { noTask: { retryAfterMs: 0 } });
        })
        .catch((error: unknown) => callback({ code: grpc.status.INTERNAL, details: describeError(error) }))
        .finally(leave);
    },
    ReadSources(call) {
      const abort = new AbortController();
      call.on('cancelled', () => abort.abort());
      const { workerId, taskId, attempt } = call.request;
      let chunks: AsyncIterable<SourceChunk>;
      try {
        chunks = dispatcher.openSources({ workerId, taskId, attempt, connection: call.getPeer() }, abort.signal);
      } catch (error) {
        failStream(call, error instanceof LeaseLostError ? grpc.status.FAILED_PRECONDITION : grpc.status.INTERNAL, error);
        return;
      }
      streamChunks(call, chunks, abort.signal).then(
        () => call.end(),
        (error: unknown) => {
          if (abort.signal.aborted) return;
          log.warn({ error: describeError(error), taskId }, 'source stream failed');
          failStream(call, grpc.status.UNAVAILABLE, error);
        },
      );
    },
    SubmitResult(call, callback) {
      dispatcher
        .submit(call.request, call.getPeer())
        .then((verdict) => callback(null, verdict))
        .catch((error: unknown) => {
          log.error({ err: error, taskId: call.request.taskId }, 'SubmitResult failed');
          callback({ code: grpc.status.INTERNAL, details: describeError(error) });
        });
    },
  };
}

/** Ends a server stream with a status (grpc-js sends the status of an 'error' emitted on the call). */
function failStream(call: grpc.ServerWritableStream<unknown, SourceChunk>, code: grpc.status, error: unknown): void {
  call.emit('error', { code, details: describeError(error) } satisfies Partial<grpc.StatusObject>);
}

/** Writes every chunk, waiting for the stream to drain whenever its buffer is full. */
async function streamChunks(call: grpc.ServerWritableStream<unknown, SourceChunk>, chunks: AsyncIterable<SourceChunk>, signal: AbortSignal): Promise<void> {
  for await (const chunk of chunks) {
    if (signal.aborted) return;
    if (!call.write(chunk, () => releaseChunk(chunk))) await once(call, 'drain', { signal });
  }
}

export async function startTileServer(options: TileServerOptions): Promise<TileServer> {
  const proto = loadTesseraProto();
  const { workerToken, log } = options;
  const refusals = new RefusalLog({ log });
  const server = new grpc.Server({
    ...messageSizeOptions(options.maxMessageBytes),
    // Workers keep long polls open; allow their keepalive pings.
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
    // And ping them: a worker whose machine vanished without closing its connection is found gone
    // (its Attend call ends, its tiles go back) within about half a minute.
    'grpc.keepalive_time_ms': 20_000,
    'grpc.keepalive_timeout_ms': 10_000,
    interceptors: workerToken ? [workerAuthInterceptor({ token: workerToken, service: TILE_SERVICE_NAME, refusals })] : [],
  });
  const attending: AttendCalls = new Set();
  const service = proto.tessera.v1.TileService.service;
  // Chunks made by source-chunk-wire.ts are already encoded: send them as they are.
  const readSources = { ...service.ReadSources, responseSerialize: serializeSourceChunk(service.ReadSources.responseSerialize) };
  server.addService({ ...service, ReadSources: readSources }, handlers(options, attending));
  const health = new HealthService({ '': 'SERVING', [TILE_SERVICE_NAME]: 'SERVING' });
  health.addTo(server);

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(options.listen, serverCredentials(options.tls), (error, boundPort) =>
      error ? reject(new Error(`cannot listen on ${options.listen}: ${error.message}`)) : resolve(boundPort),
    );
  });
  const transport = transportMode(options.tls);
  log.info({ listen: options.listen, port, workerToken: workerToken ? 'required' : 'none', transport }, 'tile service listening');
  if (!workerToken) log.info('no WORKER_TOKEN: the tile service is open to every client that reaches it (loopback only)');
  else if (transport === 'insecure' && !isLoopbackAddress(options.listen)) {
    log.warn(
      { listen: options.listen },
      'workers send WORKER_TOKEN in clear text: workers on other machines should connect over TLS (GRPC_TLS_CERT, GRPC_TLS_KEY; README, "Workers on other machines")',
    );
  }

  return {
    port,
    health,
    async stop({ timeoutMs = 5_000 } = {}) {
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(TILE_SERVICE_NAME, 'NOT_SERVING');
      options.dispatcher.close();
      for (const call of [...attending]) call.end();
      // tryShutdown waits for every call, parked long polls of dead clients included: race a timer.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, timeoutMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
