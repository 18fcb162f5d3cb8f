/**
 * `tessera health`: the container health checks. `health master` asks the master's
 * grpc.health.v1 service; `health worker` checks that the worker's poll loop touched its liveness
 * file recently (WORKER_ALIVE_FILE). Exit 0 when healthy, 1 when not, with one line saying why.
 */
import type * as grpcTypes from '@grpc/grpc-js';
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';

interface HealthClient extends grpcTypes.Client {
  Check(request: { service: string }, options: grpcTypes.CallOptions, callback: (error: grpcTypes.ServiceError | null, response?: { status: string }) => void): void;
}

async function masterServing(address: string, timeoutMs: number): Promise<string> {
  // Loaded on use: every tessera command reads this file, only `health master` speaks gRPC.
  const [grpc, protoLoader, { protoPath: healthProtoPath }] = await Promise.all([
    import('@grpc/grpc-js'),
    import('@grpc/proto-loader'),
    import('grpc-health-check'),
  ]);
  const definition = protoLoader.loadSync(healthProtoPath, { keepCase: true, enums: String, defaults: true });
  const health = grpc.loadPackageDefinition(definition)['grpc'] as unknown as { health: { v1: { Health: new (address: string, credentials: grpcTypes.ChannelCredentials) => HealthClient } } };
  const client = new health.health.v1.Health(address, grpc.credentials.createInsecure());
  try {
    return await new Promise((resolve, reject) => {
      client.Check({ service: 'tessera.v1.TileService' }, { deadline: Date.now() + timeoutMs }, (error, response) =>
        error ? reject(error) : resolve(response?.status ?? 'UNKNOWN'),
      );
    });
  } finally {
    client.close();
  }
}

export function healthCommand(program: Command): void {
  const health = program.command('health').description('container health checks (exit 0 when healthy)');
  health
    .command('master')
    .description("ask the master's grpc.health.v1 service whether the tile service is SERVING")
    .option('--address <host:port>', 'the master', '127.0.0.1:50051')
    .option('--timeout-ms <ms>', 'give up after', '3000')
    .action(async (options: { address: string; timeoutMs: string }) => {
      try {
        const status = await masterServing(options.address, Number(options.timeoutMs) || 3000);
        process.stdout.write(`master ${options.address}: ${status}\n`);
        if (status !== 'SERVING') process.exitCode = 1;
      } catch (error) {
        process.stdout.write(`master ${options.address}: unreachable (${error instanceof Error ? error.message : String(error)})\n`);
        process.exitCode = 1;
      }
    });
  health
    .command('worker')
    .description("check that the worker's poll loop touched its liveness file recently")
    .option('--file <path>', 'the liveness file (WORKER_ALIVE_FILE)', process.env['WORKER_ALIVE_FILE'] ?? '/tmp/tessera-worker.alive')
    .option('--max-age-ms <ms>', 'older than this is unhealthy (a long poll lasts up to WORKER_POLL_DEADLINE_MS)', '120000')
    .action(async (options: { file: string; maxAgeMs: string }) => {
      try {
        const age = Date.now() - (await stat(options.file)).mtimeMs;
        process.stdout.write(`worker: poll loop last seen ${Math.round(age / 1000)} s ago\n`);
        if (age > (Number(options.maxAgeMs) || 120_000)) process.exitCode = 1;
      } catch {
        process.stdout.write(`worker: no liveness file at ${options.file}\n`);
        process.exitCode = 1;
      }
    });
}
