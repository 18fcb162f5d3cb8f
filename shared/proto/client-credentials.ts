/**
 * How a client (a worker, `tessera health master`) authenticates to the master: the channel's
 * transport (plain, TLS trusting MASTER_TLS_CA, plus a client certificate for mutual TLS) and the
 * worker token, sent as `authorization: Bearer <token>` on every call by a client interceptor (call
 * credentials would be the usual way, but grpc-js refuses them on a channel without TLS, and a
 * loopback master may run without).
 */
import * as grpc from '@grpc/grpc-js';
import type { ClientTlsSettings } from '../config/worker-config.js';
import { readCaBundle, readKeyPair } from '../tls-files.js';

export interface ClientAuth {
  readonly credentials: grpc.ChannelCredentials;
  /** Sent on every call; unset, calls carry none (a master on loopback may not ask for one). */
  readonly token?: string | undefined;
}

/** Channel credentials from the client TLS variables (files read and checked now). */
export async function loadChannelCredentials(settings: ClientTlsSettings): Promise<grpc.ChannelCredentials> {
  if (!settings.masterTlsCa) return grpc.credentials.createInsecure();
  const ca = await readCaBundle({ variable: 'MASTER_TLS_CA', path: settings.masterTlsCa });
  if (!settings.workerTlsCert || !settings.workerTlsKey) return grpc.credentials.createSsl(ca);
  const pair = await readKeyPair({ variable: 'WORKER_TLS_CERT', path: settings.workerTlsCert }, { variable: 'WORKER_TLS_KEY', path: settings.workerTlsKey });
  return grpc.credentials.createSsl(ca, pair.key, pair.cert);
}

/** A client interceptor that adds the token to every call's metadata. */
export function bearerTokenInterceptor(token: string): grpc.Interceptor {
  const value = `Bearer ${token}`;
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set('authorization', value);
        next(metadata, listener);
      },
    });
}
