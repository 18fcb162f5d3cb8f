/**
 * gRPC's standard health service, grpc.health.v1 (proto/grpc/health/v1/health.proto, gRPC's own
 * file): the master serves it (master/dispatch/health-service.ts) and `tessera health master` asks it.
 * Loaded with the same proto-loader and protobufjs as the tile service: the grpc-health-check
 * package brought in a second copy of both, about 60 ms of every master's start-up.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from './generated/health.js';
import { HEALTH_PROTO_JSON } from './generated/proto-json.js';
import type { HealthClient } from './generated/grpc/health/v1/Health.js';

export type { HealthClient, HealthHandlers } from './generated/grpc/health/v1/Health.js';
export type { HealthCheckResponse__Output } from './generated/grpc/health/v1/HealthCheckResponse.js';

/** What the service says of a service name ('' the server as a whole). */
export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

export type HealthPackage = ProtoGrpcType['grpc']['health']['v1'];

/** The package object, from the definitions scripts/gen-proto.mjs wrote as JSON at build time. */
export function loadHealthProto(): HealthPackage {
  const definition = protoLoader.fromJSON(HEALTH_PROTO_JSON, {
    keepCase: true,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return (grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType).grpc.health.v1;
}

/** A client of `address`'s health service. */
export function createHealthClient(address: string, credentials: grpc.ChannelCredentials): HealthClient {
  return new (loadHealthProto().Health)(address, credentials);
}
