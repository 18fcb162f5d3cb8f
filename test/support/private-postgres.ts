/**
 * A PostgreSQL cluster of a test's own: initdb into a temp folder, served on a free loopback port
 * (trust auth, user postgres), which the test may stop and start again at will — unlike the shared
 * server the other integration tests use. The server binaries are found under
 * /usr/lib/postgresql/<version>/bin (newest first). PostgreSQL refuses to run as root, so as root
 * the cluster belongs to `nobody` (uid 65534) and every command runs through setpriv.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../shared/free-port.js';

const run = promisify(execFile);
const NOBODY = 65534;

export interface PrivateCluster {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  readonly port: number;
  /** Stops the server (fast shutdown: sessions are cut off, committed work is kept). */
  stop(): Promise<void>;
  /** Starts it again on the same port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it (if running) and removes its folder. */
  destroy(): Promise<void>;
}

/** The folder holding initdb and pg_ctl, or undefined when this machine has no PostgreSQL server. */
export function findPostgresBin(root = '/usr/lib/postgresql'): string | undefined {
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((name) => /^\d+(\.\d+)?$/.test(name))
    .sort((a, b) => Number(b) - Number(a));
  return versions.map((version) => join(root, version, 'bin')).find((bin) => existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl')));
}

/** Why the cluster cannot run here (no binaries; root without setpriv), or undefined when it can. */
export function privateClusterUnavailable(): string | undefined {
  if (!findPostgresBin()) return 'no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb and pg_ctl) on this machine';
  if (process.getuid?.() === 0 && !['/usr/bin/setpriv', '/bin/setpriv'].some((path) => existsSync(path))) {
    return 'running as root without setpriv: PostgreSQL refuses to run as root';
  }
  return undefined;
}

export async function startPrivateCluster(): Promise<PrivateCluster> {
  const bin = findPostgresBin();
  if (!bin) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
  const asRoot = process.getuid?.() === 0;
  const dir = await mkdtemp(join(tmpdir(), 'tessera-private-pg-'));
  if (asRoot) await chown(dir, NOBODY, NOBODY);
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const port = await freePort();
  const pg = async (tool: string, args: readonly string[]): Promise<void> => {
    const command = asRoot ? 'setpriv' : join(bin, tool);
    const argv = asRoot ? [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', join(bin, tool), ...args] : [...args];
    try {
      await run(command, argv, { cwd: dir, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C' }, timeout: 60_000 });
    } catch (error) {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      throw new Error(`${tool} ${args.join(' ')} failed: ${error instanceof Error ? error.message : String(error)}\n${log.slice(-2_000)}`);
    }
  };
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='${dir}' -c shared_buffers=16MB -c max_connections=30`;
  let running = false;
  const start = async (): Promise<void> => {
    await pg('pg_ctl', ['start', '-D', data, '-l', logFile, '-w', '-t', '60', '-o', options]);
    running = true;
  };
  const stop = async (): Promise<void> => {
    await pg('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w', '-t', '60']);
    running = false;
  };

  try {
    await pg('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync']);
    await start();
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop,
    start,
    async destroy() {
      if (running) await pg('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
