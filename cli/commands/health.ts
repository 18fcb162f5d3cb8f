/**
 * `tessera health`: the container health checks. `health master` asks the master's
 * grpc.health.v1 service (open: no worker token needed; over TLS it connects as a worker does,
 * trusting MASTER_TLS_CA and, for mutual TLS, presenting WORKER_TLS_CERT); `health worker` checks
 * that the worker's poll loop touched its liveness file recently (WORKER_ALIVE_FILE). Exit 0 when
 * healthy, 1 when not, with one line saying why; 2 for a bad TLS setting.
 */
import type * as grpcTypes from '@grpc/grpc-js';
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadClientTlsSettings, type ClientTlsSettings } from '../../shared/config/worker-config.js';

async function masterServing(address: string, credentials: grpcTypes.ChannelCredentials, timeoutMs: number): Promise<string> {
  // Loaded on use: every tessera command reads this file, only `health master` speaks gRPC.
  const { createHealthClient } = await import('../../shared/proto/health-proto.js');
  const client = createHealthClient(address, credentials);
  try {
    return await new Promise((resolve, reject) => {
      client.Check({ service: 'tessera.v1.TileService' }, { deadline: Date.now() + timeoutMs }, (error, response) =>
        error ? reject(error) : resolve(String(response?.status ?? 'UNKNOWN')),
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
    .option('--ca <file>', 'connect over TLS, trusting this CA (PEM) (MASTER_TLS_CA)')
    .option('--cert <file>', 'client certificate (PEM) for a master that requires one (WORKER_TLS_CERT)')
    .option('--key <file>', 'private key (PEM) of --cert (WORKER_TLS_KEY)')
    .action(async (options: { address: string; timeoutMs: string; ca?: string; cert?: string; key?: string }) => {
      const overrides: Partial<ClientTlsSettings> = {
        ...(options.ca ? { masterTlsCa: options.ca } : {}),
        ...(options.cert ? { workerTlsCert: options.cert } : {}),
        ...(options.key ? { workerTlsKey: options.key } : {}),
      };
      const { loadChannelCredentials } = await import('../../shared/proto/client-credentials.js');
      const credentials = await loadChannelCredentials(loadClientTlsSettings(process.env, overrides)); // a bad file: exit 2
      try {
        const status = await masterServing(options.address, credentials, Number(options.timeoutMs) || 3000);
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
