/**
 * The transport the master serves workers on: plain gRPC, TLS (GRPC_TLS_CERT + GRPC_TLS_KEY), or
 * mutual TLS (also GRPC_TLS_CA: every connection must present a certificate that CA signed, or the
 * handshake fails before any call). Files are read and checked once, at start-up.
 */
import * as grpc from '@grpc/grpc-js';
import { readCaBundle, readKeyPair, type KeyPair } from '../../shared/tls-files.js';

export type TransportMode = 'insecure' | 'tls' | 'mutual-tls';

/** The master's certificate and key, and the CA of client certificates for mutual TLS. */
export interface ServerTls extends KeyPair {
  readonly clientCa?: Buffer | undefined;
}

/** The files, as GRPC_TLS_CERT, GRPC_TLS_KEY and GRPC_TLS_CA name them (see master-config.ts). */
export interface ServerTlsSettings {
  readonly grpcTlsCert: string | undefined;
  readonly grpcTlsKey: string | undefined;
  readonly grpcTlsCa: string | undefined;
}

/** Reads the TLS files the configuration names; undefined when TLS is off. */
export async function loadServerTls(config: ServerTlsSettings): Promise<ServerTls | undefined> {
  if (!config.grpcTlsCert || !config.grpcTlsKey) return undefined; // loadMasterConfig has checked they come together
  const pair = await readKeyPair({ variable: 'GRPC_TLS_CERT', path: config.grpcTlsCert }, { variable: 'GRPC_TLS_KEY', path: config.grpcTlsKey });
  const clientCa = config.grpcTlsCa ? await readCaBundle({ variable: 'GRPC_TLS_CA', path: config.grpcTlsCa }) : undefined;
  return { ...pair, clientCa };
}

export function transportMode(tls: ServerTls | undefined): TransportMode {
  if (!tls) return 'insecure';
  return tls.clientCa ? 'mutual-tls' : 'tls';
}

export function serverCredentials(tls: ServerTls | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(tls.clientCa ?? null, [{ cert_chain: tls.cert, private_key: tls.key }], tls.clientCa !== undefined);
}
