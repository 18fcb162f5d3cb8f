/**
 * ClaimGuard: a fenced write that touches no row stops the run; it is a lost claim (a warning) when
 * someone else holds the request, not when the request ended under this very claim. The load
 * benchmark found the second: the run's last progress update, sent before `completed` was recorded
 * but landing after it, logged "lost the claim" for requests one master had just completed
 * (3–5 in 200–300 requests), whether the runner had stopped the guard by then or not.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClaimGuard, ClaimLostError } from '../../master/claim-guard.js';
import { RUN_OUTAGE_RETRY } from '../../master/request-outcome.js';
import { InMemoryRequestStore } from '../../master/store/in-memory-request-store.js';
import { claimOf, type RequestClaim } from '../../master/store/request-store.js';
import { captureLog } from '../support/log-capture.js';

const RESULT = { outputDir: '/nowhere', outputs: {}, workerTiles: {}, timings: {}, tilesDone: 3 };

async function claimedRequest(clock = { ms: 1_000 }): Promise<{ store: InMemoryRequestStore; claim: RequestClaim }> {
  const store = new InMemoryRequestStore({ now: () => clock.ms });
  await store.insert({ indices: ['ndvi'] });
  const row = await store.claimNext('master-a', 30_000);
  assert.ok(row);
  return { store, claim: claimOf(row) };
}

function guardOf(store: InMemoryRequestStore, claim: RequestClaim, log: ReturnType<typeof captureLog>): ClaimGuard {
  return new ClaimGuard({ claim, store, heartbeatMs: 3_600_000, cancelCheckMs: 3_600_000, outageRetry: RUN_OUTAGE_RETRY, stopSignal: new AbortController().signal, log: log.logger });
}

const isLostClaim = (r: Record<string, unknown>): boolean => /lost the claim/.test(String(r['msg']));
const isLateWrite = (r: Record<string, unknown>): boolean => /reached it after/.test(String(r['msg']));
const lostClaimWarnings = (log: ReturnType<typeof captureLog>): number => log.records().filter(isLostClaim).length;

test('a progress update that touches no row because another master took the request over: stopped at once, and a warning', async () => {
  const clock = { ms: 1_000 };
  const { store, claim } = await claimedRequest(clock);
  const log = captureLog();
  const guard = guardOf(store, claim, log);
  try {
    clock.ms += 60_000; // A's heartbeat is stale: B takes the request over
    assert.equal((await store.claimNext('master-b', 30_000))?.claimedBy, 'master-b');
    guard.note(await store.recordProgress(claim, 1), 'progress');
    assert.ok(guard.signal.reason instanceof ClaimLostError, 'the run is stopped before anything else happens');
    const warning = await log.seen((r) => isLostClaim(r) || isLateWrite(r));
    assert.ok(isLostClaim(warning), String(warning['msg']));
    assert.equal(warning['level'], 40);
    assert.equal(warning['heldBy'], 'master-b');
    assert.equal(warning['noticedBy'], 'progress');
  } finally {
    guard.stop();
  }
});

test('a progress update landing after the run completed, the guard not yet stopped: stopped, but no warning', async () => {
  const { store, claim } = await claimedRequest();
  const log = captureLog();
  const guard = guardOf(store, claim, log);
  try {
    assert.equal(await store.complete(claim, RESULT), true);
    guard.note(await store.recordProgress(claim, 3), 'progress'); // the answer of a write sent before the outcome
    assert.ok(guard.signal.aborted);
    const said = await log.seen((r) => isLostClaim(r) || isLateWrite(r));
    assert.ok(isLateWrite(said), String(said['msg']));
    assert.equal(lostClaimWarnings(log), 0);
  } finally {
    guard.stop();
  }
});

test('a progress update sent before the outcome but landing after it, once the run ended: not a lost claim', async () => {
  const { store, claim } = await claimedRequest();
  const log = captureLog();
  const guard = guardOf(store, claim, log);
  let land!: () => void;
  const landed = new Promise<void>((resolve) => (land = resolve));
  // Sent now, as the pipeline's last progress update is, but reaching the row only when let through.
  const lateProgress = landed.then(() => store.recordProgress(claim, 3)).then((held) => guard.note(held, 'progress'));
  assert.equal(await store.complete(claim, RESULT), true);
  guard.stop(); // the runner's `finally`, right after the outcome is recorded
  land();
  await lateProgress;
  assert.equal(guard.signal.aborted, false);
  assert.equal(lostClaimWarnings(log), 0);
  const row = await store.get(claim.id);
  assert.equal(row?.status, 'completed');
  assert.equal(row?.tilesDone, 3);
});

test('a progress update that touches no row because the request was cancelled: stopped, said as a cancel, no warning', async () => {
  const { store, claim } = await claimedRequest();
  const log = captureLog();
  const guard = guardOf(store, claim, log);
  const isCancelNote = (r: Record<string, unknown>): boolean => /request cancelled/.test(String(r['msg']));
  try {
    assert.equal(await store.cancel(claim.id), 'cancelled');
    guard.note(await store.recordProgress(claim, 2), 'progress');
    assert.ok(guard.signal.aborted);
    const said = await log.seen((r) => isLostClaim(r) || isCancelNote(r));
    assert.ok(isCancelNote(said), String(said['msg']));
    assert.equal(said['level'], 30);
    assert.equal(await guard.wasCancelled(), true);
    assert.equal(lostClaimWarnings(log), 0);
  } finally {
    guard.stop();
  }
});
