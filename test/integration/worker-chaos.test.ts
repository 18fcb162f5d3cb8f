/**
 * Worker chaos at the default one-minute TILE_LEASE_MS: three of four `tessera worker` processes
 * are killed with SIGKILL in turn, each the moment it is handed a strip, during one 352-strip
 * request. Measured from the master's events and from the row's tiles_done in PostgreSQL (pushed by
 * a trigger, test/support/row-progress.ts): each killed worker's strip is handed out again, and
 * the row moves on, within seconds of the kill rather than after the lease; the row never stalls;
 * and the mosaics are byte-identical to a fault-free run's.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import type { MosaicRequestRow, NewMosaicRequest } from '../../master/db/request-store.js';
import type { RunningMaster } from '../../master/start-master.js';
import { packageRoot } from '../../shared/package-root.js';
import { spawnWorkerProcesses, startTestMaster, startWorkers, stopProcesses, testMasterConfig } from '../support/cluster.js';
import { followJsonLog } from '../support/log-follower.js';
import { watchRowProgress, type ProgressNotice, type RowProgress } from '../support/row-progress.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const sample = join(packageRoot(), 'samples', 'L7_ETMs.tif');
const REQUEST: NewMosaicRequest = {
  bands: { green: `${sample}#2`, red: `${sample}#3`, nir: `${sample}#4`, swir16: `${sample}#5` },
  indices: ['ndvi', 'ndsi'],
  stripRows: 1, // 352 one-row strips
};
const VICTIMS = ['victim-1', 'victim-2', 'victim-3'] as const;
/** Strips accepted before each kill: 60, 120, 180 of 352, so the kills spread over the request. */
const KILL_EVERY = 60;
/** "Within seconds": far under the 60 s lease that would otherwise bring the strip back. */
const WITHIN_MS = 5_000;

interface Kill {
  readonly victim: string;
  readonly taskId: string;
  readonly attempt: number;
  readonly killedAt: number;
  /** Strips accepted when it was killed. */
  readonly acceptedAtKill: number;
  reissued?: { readonly at: number; readonly to: string; readonly attempt: number };
  /** When its strip was accepted from another worker, and how many strips were accepted by then. */
  redone?: { readonly at: number; readonly accepted: number };
}

async function digests(row: MosaicRequestRow): Promise<Record<string, string>> {
  const outputs = row.outputs as Record<string, { png: string; colorPng: string }>;
  const files = ['ndvi', 'ndsi'].flatMap((index) => [outputs[index]?.png, outputs[index]?.colorPng]);
  const entries = await Promise.all(files.map(async (file) => [file, createHash('sha256').update(await readFile(file ?? '')).digest('hex')]));
  return Object.fromEntries(entries.map(([file, digest]) => [String(file).split('/').at(-1), digest]));
}

/** Inserts the request and resolves with its row once it has finished (its NOTIFY, no polling). */
async function runRequest(master: RunningMaster, progress: RowProgress): Promise<MosaicRequestRow> {
  const id = await master.store.insert(REQUEST);
  await progress.finished(id);
  const row = await master.store.get(id);
  assert.ok(row);
  assert.equal(row.status, 'completed', row.error ?? '');
  return row;
}

/** Kills each victim in turn, when it is handed a strip, once KILL_EVERY more strips are accepted and the last victim's strip is out again. */
function killInTurn(master: RunningMaster, victims: ReadonlyMap<string, ChildProcess>): { kills: Kill[]; stop: () => void } {
  const kills: Kill[] = [];
  const doneBy = new Map<string, number>();
  let accepted = 0;
  const offDone = master.events.on('tile:done', ({ taskId, workerId }) => {
    accepted += 1;
    doneBy.set(workerId, (doneBy.get(workerId) ?? 0) + 1);
    const kill = kills.find((k) => k.taskId === taskId);
    if (kill) kill.redone = { at: performance.now(), accepted };
  });
  const offLeased = master.events.on('tile:leased', ({ taskId, workerId, attempt }) => {
    const kill = kills.find((k) => k.taskId === taskId && !k.reissued);
    if (kill) kill.reissued = { at: performance.now(), to: workerId, attempt };
    const victim = VICTIMS[kills.length];
    if (victim === undefined || workerId !== victim) return;
    if ((doneBy.get(victim) ?? 0) < 1 || accepted < KILL_EVERY * (kills.length + 1)) return;
    if (kills.length > 0 && !kills.at(-1)?.reissued) return; // in turn: the last victim's strip is out again first
    victims.get(victim)?.kill('SIGKILL');
    kills.push({ victim, taskId, attempt, killedAt: performance.now(), acceptedAtKill: accepted });
  });
  return { kills, stop: () => (offDone(), offLeased()) };
}

/** The first change of the row at or after `from` that satisfies `predicate`. */
function firstNotice(notices: readonly ProgressNotice[], from: number, predicate: (notice: ProgressNotice) => boolean): ProgressNotice | undefined {
  return notices.find((notice) => notice.at >= from && predicate(notice));
}

describe('worker chaos at the default lease', () => {
  let database: TestDatabase;
  let outputDir: string;

  before(async () => {
    database = await createTestDatabase();
    outputDir = await mkdtemp(join(tmpdir(), 'tessera-chaos-test-'));
  });
  after(async () => {
    await database.drop();
    await rm(outputDir, { recursive: true, force: true });
  });

  test('workers killed in turn: their strips go out again and the row moves on within seconds; output identical', { timeout: 60_000 }, async (t) => {
    assert.equal(testMasterConfig({}).tileLeaseMs, 60_000, 'the master runs with the default TILE_LEASE_MS');
    const master = await startTestMaster({ databaseUrl: database.url, outputDir, pollIntervalMs: 100 });
    const progress = await watchRowProgress(database.url);
    const processes = new Map<string, ChildProcess>();
    try {
      const calm = startWorkers(2, master.grpcPort, 'calm');
      const calmRow = await runRequest(master, progress);
      await Promise.all(calm.map((worker) => worker.stop()));

      for (const name of [...VICTIMS, 'steady']) processes.set(name, spawnWorkerProcesses(1, master.grpcPort, { WORKER_ID: name, LOG_LEVEL: 'info' })[0]!);
      await Promise.all([...processes].map(([name, child]) => followJsonLog(child.stderr!).waitFor((line) => line['msg'] === 'worker started', `${name} started`, 30_000)));
      const requeued: string[] = [];
      const gone = new Map<string, number>();
      const offRequeued = master.events.on('tile:requeued', ({ reason }) => void requeued.push(reason));
      const offGone = master.events.on('worker:gone', ({ workerId, released }) => void gone.set(workerId, released));
      const chaos = killInTurn(master, new Map(VICTIMS.map((name) => [name, processes.get(name)!])));
      const row = await runRequest(master, progress).finally(() => (chaos.stop(), offRequeued(), offGone()));
      const { kills } = chaos;

      const total = row.tilesTotal ?? 0;
      assert.equal(row.tilesDone, total);
      assert.equal(kills.length, VICTIMS.length, `only ${kills.length} victims were killed before the request completed`);
      assert.ok((kills.at(-1)?.acceptedAtKill ?? total) < total - 50, 'the last kill came early enough for the rest to matter');
      for (const victim of VICTIMS) {
        assert.ok((row.workerTiles?.[victim] ?? 0) > 0, `${victim} did strips before it was killed`);
        assert.equal(gone.get(victim), 1, `${victim}'s strip went back when its connection dropped`);
      }
      assert.ok(requeued.length === VICTIMS.length && requeued.every((reason) => /disconnected/.test(reason)), requeued.join('; '));

      const notices = progress.of(row.id);
      for (const kill of kills) {
        const { reissued, redone } = kill;
        assert.ok(reissued && redone, `${kill.victim}'s strip ${kill.taskId} was handed out again and accepted`);
        assert.notEqual(reissued.to, kill.victim);
        assert.equal(reissued.attempt, kill.attempt + 1);
        const before = Math.max(0, ...notices.filter((n) => n.at < reissued.at).map((n) => n.tilesDone));
        const moved = firstNotice(notices, reissued.at, (n) => n.tilesDone > before);
        const shows = firstNotice(notices, redone.at, (n) => n.tilesDone >= redone.accepted);
        assert.ok(moved && shows, `the row moved after ${kill.victim}'s kill`);
        const figures = {
          reissuedMs: reissued.at - kill.killedAt,
          rowMovedMs: moved.at - kill.killedAt,
          redoneMs: redone.at - kill.killedAt,
          rowShowsRedoneMs: shows.at - kill.killedAt,
        };
        t.diagnostic(`${kill.victim} killed at ${kill.acceptedAtKill}/${total}: ${Object.entries(figures).map(([k, ms]) => `${k} ${ms.toFixed(0)}`).join(', ')}`);
        for (const [name, ms] of Object.entries(figures)) assert.ok(ms < WITHIN_MS, `${kill.victim}: ${name} = ${ms.toFixed(0)} ms`);
      }
      // The row never stalled: from the first progress to the last, no gap waits for a lease.
      const gaps = notices.slice(1).map((notice, i) => notice.at - (notices[i] as ProgressNotice).at);
      t.diagnostic(`${notices.length} progress updates, longest gap ${Math.max(...gaps).toFixed(0)} ms`);
      assert.ok(Math.max(...gaps) < WITHIN_MS, `the row's tiles_done stalled for ${Math.max(...gaps).toFixed(0)} ms`);
      assert.deepEqual(notices.map((n) => n.tilesDone), [...notices.map((n) => n.tilesDone)].sort((a, b) => a - b), 'tiles_done only grows');

      assert.deepEqual(await digests(row), await digests(calmRow), 'mosaics byte-identical to the fault-free run');
    } finally {
      await stopProcesses([...processes.values()]);
      await progress.close();
      await master.stop({ graceful: false, timeoutMs: 2_000 });
    }
  });
});
