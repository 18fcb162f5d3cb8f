/**
 * ClaimGuard: a fenced write that touches no row while the run goes on means the claim is lost; one
 * that reaches the row after the run recorded its outcome does not. The load benchmark found the
 * second: the run's last progress update, sent before `completed` was recorded but landing after,
 * logged "lost the claim" for requests one master had just completed (3–5 in 200–300 requests).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClaimGuard, ClaimLostError } from '../../master/claim-guard.js';
import { RUN_OUTAGE_RETRY } from '../../master/request-outcome.js';
import { InMemoryRequestStore } from '../../master/store/in-memory-request-store.js';
import { claimOf, type RequestClaim } from '../../master/store/request-store.js';
import { captureLog } from '../support/log-capture.js';

const RESULT = { outputDir: '/nowhere', outputs: {}, workerTiles: {}, timings: {}, tilesDone: 3 };

async function claimedRequest(): Promise<{ store: InMemoryRequestStore; claim: RequestClaim }> {
  const store = new InMemoryRequestStore();
  await store.insert({ indices: ['ndvi'] });
  const row = await store.claimNext('master-a', 30_000);
  assert.ok(row);
  return { store, claim: claimOf(row) };
}

function guardOf(store: InMemoryRequestStore, claim: RequestClaim, log: ReturnType<typeof captureLog>): ClaimGuard {
  return new ClaimGuard({ claim, store, heartbeatMs: 3_600_000, outageRetry: RUN_OUTAGE_RETRY, stopSignal: new AbortController().signal, log: log.logger });
}

const lostClaimWarnings = (log: ReturnType<typeof captureLog>): number => log.records().filter((r) => /lost the claim/.test(String(r['msg']))).length;

test('a progress update that touches no row while the run goes on: the claim is lost, the run is told', async () => {
  const { store, claim } = await claimedRequest();
  const log = captureLog();
  const guard = guardOf(store, claim, log);
  try {
    assert.equal(await store.fail(claim, 'taken over elsewhere'), true); // the row is no longer this claim's
    guard.note(await store.recordProgress(claim, 1), 'progress');
    assert.ok(guard.signal.aborted);
    assert.ok(guard.signal.reason instanceof ClaimLostError);
    assert.equal(lostClaimWarnings(log), 1);
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
