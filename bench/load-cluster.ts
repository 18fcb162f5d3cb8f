/**
 * The processes of the load benchmark (bench/load.ts): one `tessera master` on a given PostgreSQL
 * database and N `tessera worker` processes, all of the compiled CLI, all on loopback. Each is
 * ready when it has logged its start line; each keeps the tail of its log and counts its warnings
 * and errors by message.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { NODE_FLAGS } from '../cli/node-flags.js';
import { packageRoot } from '../shared/package-root.js';

const TAIL = 16 * 1024;

export interface CliProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Log lines at warn (pino 40) or worse so far, by message ("error: …" for error and worse). */
  complaints(): ReadonlyMap<string, number>;
  /** Resolves with the exit code (or signal) once it has exited. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
}

/**
 * Spawns `tessera <args>`, its whole stderr written to `logFile`, and resolves once a stderr line
 * says `readyMessage`; rejects if it exits first.
 */
export function spawnCliUntil(args: readonly string[], env: NodeJS.ProcessEnv, readyMessage: string, logFile: string): Promise<CliProcess> {
  const child = spawn(process.execPath, [...NODE_FLAGS, join(packageRoot(), 'dist', 'cli', 'bin.js'), ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const pid = child.pid;
  if (pid === undefined) return Promise.reject(new Error(`could not start tessera ${args.join(' ')}`));
  let tail = '';
  let partial = '';
  const complaints = new Map<string, number>();
  const file = createWriteStream(logFile);
  child.stderr?.pipe(file);
  const closed = new Promise<void>((resolve) => file.once('close', resolve));
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => {
    child.once('close', (code, signal) => void closed.then(() => resolve(signal ?? code)));
  });
  return new Promise((resolve, reject) => {
    let ready = false;
    const handle: CliProcess = { child, pid, complaints: () => complaints, exited };
    child.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      tail = (tail + text).slice(-TAIL);
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? 0);
        if (level >= 40) {
          const message = `${level >= 50 ? 'error' : 'warn'}: ${/"msg":"((?:[^"\\]|\\.)*)"/.exec(line)?.[1] ?? line.slice(0, 120)}`;
          complaints.set(message, (complaints.get(message) ?? 0) + 1);
        }
        if (!ready && line.includes(`"msg":"${readyMessage}"`)) {
          ready = true;
          resolve(handle);
        }
      }
    });
    void exited.then((code) => {
      if (!ready) reject(new Error(`tessera ${args.join(' ')} exited (${String(code)}) before "${readyMessage}":\n${tail}`));
    });
  });
}

export interface MasterSettings {
  readonly databaseUrl: string;
  readonly outputDir: string;
  readonly grpcPort: number;
  /** Where its log goes (JSON lines). */
  readonly logFile: string;
  /** Further variables (TILE_LEASE_MS, …) as a user would set them. */
  readonly env?: Readonly<Record<string, string>>;
}

export function startMasterProcess(settings: MasterSettings): Promise<CliProcess> {
  return spawnCliUntil(
    ['master'],
    {
      ...process.env,
      LOG_LEVEL: 'info',
      DATABASE_URL: settings.databaseUrl,
      OUTPUT_DIR: settings.outputDir,
      GRPC_LISTEN: `127.0.0.1:${settings.grpcPort}`,
      MASTER_ID: 'load-master',
      ...settings.env,
    },
    'master started',
    settings.logFile,
  );
}

/**
 * `count` workers (load-worker-1 …), logging to `<logDir>/load-worker-<n>.log`, started `batch` at a
 * time (50 Node processes loading at once on 2 cores take long to start).
 */
export async function startWorkerProcesses(count: number, grpcPort: number, logDir: string, batch = 10): Promise<CliProcess[]> {
  const workers: CliProcess[] = [];
  try {
    for (let first = 1; first <= count; first += batch) {
      const ids = Array.from({ length: Math.min(batch, count - first + 1) }, (_, i) => `load-worker-${first + i}`);
      const env = (id: string): NodeJS.ProcessEnv => ({ ...process.env, LOG_LEVEL: 'info', MASTER_ADDRESS: `127.0.0.1:${grpcPort}`, WORKER_ID: id });
      const started = await Promise.allSettled(ids.map((id) => spawnCliUntil(['worker'], env(id), 'worker started', join(logDir, `${id}.log`))));
      for (const outcome of started) if (outcome.status === 'fulfilled') workers.push(outcome.value);
      const failure = started.find((outcome) => outcome.status === 'rejected');
      if (failure) throw failure.reason;
    }
    return workers;
  } catch (error) {
    await stopProcesses(workers, 'SIGKILL');
    throw error;
  }
}

/** Sends `signal` to each process still running and waits for every one to exit. */
export async function stopProcesses(processes: readonly CliProcess[], signal: NodeJS.Signals): Promise<void> {
  for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
  await Promise.all(processes.map((p) => p.exited));
}
