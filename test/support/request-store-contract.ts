/**
 * The behaviour every RequestStore must have, as one suite run against each implementation:
 * test/integration/request-store.test.ts (PostgreSQL, a fresh database per test) and
 * test/unit/in-memory-request-store.test.ts. What only PostgreSQL has (migrations, the CHECK, the
 * NOTIFY channels, the listener's reconnect, SKIP LOCKED across pools) stays in the former.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { FinishedStatus, MosaicRequestRow, RequestClaim, RequestResult, RequestStore, WorkerStatsRow } from '../../master/store/request-store.js';

/** The claim `masterId` holds on request `id` as its `attempt`-th claim (a request's first claim is 1). */
export function claimBy(id: string, masterId: string, attempt = 1): RequestClaim {
  return { id, masterId, attempt };
}

export interface StoreHarness {
  readonly store: RequestStore;
  /** Lets `ms` go by for the stored requests: every timestamp recorded so far is `ms` further in the past. */
  passTime(ms: number): Promise<void>;
  /** The store's clock, ms since the epoch. */
  now(): number;
}

/** A fresh, empty store for one test; cleans up after it through `t`. */
export type OpenHarness = (t: TestContext) => Promise<StoreHarness>;

const BANDS = { red: '/data/input/B04.tif', nir: 'samples/L7_ETMs.tif#4' };
const STALE_MS = 60_000;
const DAY_MS = 24 * 3_600_000;

async function row(store: RequestStore, id: string): Promise<MosaicRequestRow> {
  const found = await store.get(id);
  assert.ok(found, `request ${id} exists`);
  return found;
}

/** The ids onPending delivers, in order; `until(n)` resolves once there are n (rejects after timeoutMs). */
async function pendingIds(store: RequestStore): Promise<{ ids: string[]; until(count: number, timeoutMs?: number): Promise<string[]>; stop(): Promise<void> }> {
  const ids: string[] = [];
  let onHeard = (): void => {};
  const stop = await store.onPending((id) => {
    ids.push(id);
    onHeard();
  });
  return {
    ids,
    stop,
    until: (count, timeoutMs = 2_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`heard ${ids.length} of ${count} pending ids within ${timeoutMs} ms: ${ids}`)), timeoutMs);
        onHeard = () => {
          if (ids.length < count) return;
          clearTimeout(timer);
          resolve([...ids]);
        };
        onHeard();
      }),
  };
}

const RESULT: RequestResult = { outputDir: '/out/a', outputs: [], workerTiles: { w: 1 }, timings: { totalMs: 1 }, tilesDone: 1 };

export function requestStoreContract(name: string, open: OpenHarness): void {
  describe(`RequestStore contract: ${name}`, () => {
    test('insert applies the column defaults; ids are increasing decimal strings; get knows only real ids', async (t) => {
      const { store } = await open(t);
      const id = await store.insert({ bands: BANDS, indices: ['ndvi'] });
      assert.match(id, /^[0-9]+$/);
      const inserted = await row(store, id);
      assert.deepEqual(
        { ...inserted, createdAt: undefined, updatedAt: undefined },
        {
          id,
          source: 'sentinel2',
          bands: BANDS,
          indices: ['ndvi'],
          reflectanceOffset: null, // not said: a stac request takes its item's, others 0
          stripRows: null,
          formats: ['png'],
          url: null,
          ulLat: null,
          ulLng: null,
          lrLat: null,
          lrLng: null,
          resolution: null,
          expression: null,
          range: null,
          maskClasses: null,
          uploadUrls: null,
          uploadError: null,
          status: 'pending',
          tilesDone: 0,
          tilesTotal: null,
          outputDir: null,
          outputs: null,
          workerTiles: null,
          verification: null,
          timings: null,
          error: null,
          claimedBy: null,
          attempts: 0,
          createdAt: undefined,
          startedAt: null,
          finishedAt: null,
          heartbeatAt: null,
          updatedAt: undefined,
        },
      );
      assert.ok(inserted.createdAt instanceof Date && inserted.updatedAt instanceof Date);
      assert.equal(inserted.updatedAt.getTime(), inserted.createdAt.getTime());

      assert.deepEqual((await row(store, await store.insert({ indices: ['ndsi'] }))).bands, {}, 'bands default to {}');
      const custom = await row(
        store,
        await store.insert({ source: 'landsat', bands: {}, indices: ['ndvi', 'evi'], reflectanceOffset: -1000, stripRows: 512 }),
      );
      // Unknown source/index values are accepted: the master fails them with a readable reason.
      assert.equal(custom.source, 'landsat');
      assert.deepEqual(custom.indices, ['ndvi', 'evi']);
      assert.equal(custom.reflectanceOffset, -1000);
      assert.equal(custom.stripRows, 512);
      const box = { source: 'earthdaily', url: 'https://example.test/m.tif', ulLat: 46.52, ulLng: 6.55, lrLat: 46.48, lrLng: 6.62, resolution: 10 };
      const earthdaily = await row(store, await store.insert({ ...box, indices: ['ndvi'] }));
      assert.deepEqual({ ...box, bands: {} }, { source: earthdaily.source, url: earthdaily.url, ulLat: earthdaily.ulLat, ulLng: earthdaily.ulLng, lrLat: earthdaily.lrLat, lrLng: earthdaily.lrLng, resolution: earthdaily.resolution, bands: earthdaily.bands });

      const ids = (await store.list()).map((r) => BigInt(r.id)).reverse();
      assert.deepEqual(ids, [...ids].sort((a, b) => (a < b ? -1 : 1)), 'ids increase');
      assert.equal(new Set(ids).size, 4);
      assert.equal(await store.get('not-an-id'), null);
      assert.equal(await store.get('987654321'), null);
    });

    test('jsonb values come back as the table returns them: copies, undefined dropped, keys in jsonb order', async (t) => {
      const { store } = await open(t);
      const id = await store.insert({ bands: { swir16: 'd', red: 'b', green: 'c', nir: 'a' }, indices: ['ndvi'] });
      assert.deepEqual(Object.keys((await row(store, id)).bands as object), ['nir', 'red', 'green', 'swir16']);
      await store.claimNext('master-a', STALE_MS);
      const outputs = { ndvi: { worldFile: 'w', png: 'p', colorPng: 'c', auxXml: 'x', skipped: undefined }, manifest: 'm' };
      assert.equal(await store.complete(claimBy(id, 'master-a'), { ...RESULT, outputs, timings: { totalMs: 1.5, openMs: 0.25 } }), true);
      const done = await row(store, id);
      assert.deepEqual(done.outputs, { ndvi: { png: 'p', auxXml: 'x', colorPng: 'c', worldFile: 'w' }, manifest: 'm' });
      const stored = done.outputs as { ndvi: object };
      assert.deepEqual(Object.keys(stored), ['ndvi', 'manifest']);
      assert.deepEqual(Object.keys(stored.ndvi), ['png', 'auxXml', 'colorPng', 'worldFile']);
      assert.deepEqual(Object.keys(done.timings as object), ['openMs', 'totalMs']);
    });

    test('complete records what verification found, or null when it was off', async (t) => {
      const { store } = await open(t);
      const verified = await store.insert({ bands: BANDS, indices: ['ndvi'] });
      const plain = await store.insert({ bands: BANDS, indices: ['ndvi'] });
      await store.claimNext('master-a', STALE_MS);
      await store.claimNext('master-a', STALE_MS);
      const verification = {
        fraction: 1,
        sampledStrips: 3,
        replicasGivenUp: 0,
        arbitrations: 1,
        byWorker: { good: { verified: 3, minority: 0, unverified: 0, discarded: 0, banned: false }, bad: { verified: 0, minority: 1, unverified: 0, discarded: 2, banned: true } },
      };
      assert.equal(await store.complete(claimBy(verified, 'master-a'), { ...RESULT, verification }), true);
      assert.equal(await store.complete(claimBy(plain, 'master-a'), RESULT), true);
      assert.deepEqual((await row(store, verified)).verification, verification);
      assert.equal((await row(store, plain)).verification, null);
    });

    test('rows go in and come out as copies: changing one changes nothing stored', async (t) => {
      const { store } = await open(t);
      const request = { bands: { ...BANDS }, indices: ['ndvi'] };
      const id = await store.insert(request);
      request.bands.red = 'changed';
      request.indices.push('ndsi');
      const got = await row(store, id);
      (got.bands as Record<string, string>)['red'] = 'mutated';
      got.indices.push('evi');
      got.status = 'failed';
      got.createdAt.setTime(0);
      const claimed = await store.claimNext('master-a', STALE_MS);
      assert.ok(claimed);
      assert.deepEqual(claimed.bands, BANDS);
      assert.deepEqual(claimed.indices, ['ndvi']);
      assert.notEqual(claimed.createdAt.getTime(), 0);
      claimed.attempts = 99;
      const listed = await store.list();
      listed[0]!.claimedBy = 'someone-else';

      const result = { ...RESULT, outputs: { ndvi: { png: '/out/ndvi.png' } }, workerTiles: { w: 1 } };
      assert.equal(await store.complete(claimBy(id, 'master-a'), result), true);
      result.outputs.ndvi.png = 'changed';
      result.workerTiles.w = 5;
      const done = await row(store, id);
      assert.equal(done.attempts, 1);
      assert.equal(done.claimedBy, 'master-a');
      assert.deepEqual(done.outputs, { ndvi: { png: '/out/ndvi.png' } });
      assert.deepEqual(done.workerTiles, { w: 1 });
    });

    test('claimNext claims the oldest pending request and marks it running', async (t) => {
      const { store, now } = await open(t);
      assert.equal(await store.claimNext('master-a', STALE_MS), null);
      const first = await store.insert({ bands: BANDS, indices: ['ndvi'] });
      const second = await store.insert({ bands: BANDS, indices: ['ndsi'] });

      const claimed = await store.claimNext('master-a', STALE_MS);
      assert.ok(claimed);
      assert.equal(claimed.id, first);
      assert.equal(claimed.status, 'running');
      assert.equal(claimed.claimedBy, 'master-a');
      assert.equal(claimed.attempts, 1);
      assert.equal(claimed.tilesDone, 0);
      assert.ok(claimed.startedAt instanceof Date && Math.abs(now() - claimed.startedAt.getTime()) < 10_000);
      assert.ok(claimed.heartbeatAt instanceof Date);
      assert.equal(claimed.finishedAt, null);
      assert.deepEqual(await row(store, first), claimed);

      assert.equal((await store.claimNext('master-b', STALE_MS))?.id, second);
      assert.equal(await store.claimNext('master-b', STALE_MS), null, 'a fresh running request is not reclaimed');
    });

    test('concurrent claims never hand out the same request twice', async (t) => {
      const { store } = await open(t);
      const ids: string[] = [];
      for (let i = 0; i < 40; i += 1) ids.push(await store.insert({ bands: BANDS, indices: ['ndvi'] }));
      const loops = await Promise.all(
        Array.from({ length: 8 }, async (_, loop) => {
          const mine: string[] = [];
          for (;;) {
            const claimed = await store.claimNext(`master-${loop % 2}`, STALE_MS);
            if (!claimed) return mine;
            mine.push(claimed.id);
          }
        }),
      );
      const claimed = loops.flat();
      assert.equal(new Set(claimed).size, claimed.length, 'no request claimed twice');
      assert.deepEqual([...claimed].sort(), [...ids].sort());
      assert.ok((await store.list({ limit: 100 })).every((r) => r.status === 'running' && r.attempts === 1));
    });

    test('progress is recorded on the row, and heartbeats and progress keep a claim fresh', async (t) => {
      const { store, passTime } = await open(t);
      const id = await store.insert({ bands: BANDS, indices: ['ndvi'] });
      await store.claimNext('master-a', STALE_MS);
      for (const beat of [
        () => store.heartbeat(claimBy(id, 'master-a')),
        () => store.setTilesTotal(claimBy(id, 'master-a'), 12),
        () => store.recordProgress(claimBy(id, 'master-a'), 5),
      ]) {
        await passTime(40_000);
        const before = await row(store, id);
        assert.equal(await beat(), true);
        const after = await row(store, id);
        assert.ok(after.heartbeatAt && before.heartbeatAt && after.heartbeatAt > before.heartbeatAt, 'heartbeat_at moved on');
        assert.ok(after.updatedAt > before.updatedAt, 'updated_at moved on');
        await passTime(40_000);
        assert.equal(await store.claimNext('master-b', STALE_MS), null, 'last sign of life 40 s ago: not stale');
      }
      const progressed = await row(store, id);
      assert.equal(progressed.tilesTotal, 12);
      assert.equal(progressed.tilesDone, 5);
      await passTime(30_000);
      assert.equal((await store.claimNext('master-b', STALE_MS))?.id, id, '70 s of silence: stale');
    });

    test('a running request whose heartbeat is stale is reclaimed, counting the attempt; a fresh one is not', async (t) => {
      const { store, passTime, now } = await open(t);
      const id = await store.insert({ bands: BANDS, indices: ['ndvi'] });
      await store.claimNext('master-a', STALE_MS);
      assert.equal(await store.setTilesTotal(claimBy(id, 'master-a'), 12), true);
      assert.equal(await store.recordProgress(claimBy(id, 'master-a'), 5), true);
      assert.equal(await store.claimNext('master-b', STALE_MS), null);

      // master-a died: its last heartbeat was two minutes ago.
      await passTime(2 * 60_000);
      assert.equal(await store.claimNext('master-b', 5 * 60_000), null, 'not stale under a 5-minute lease');
      const reclaimed = await store.claimNext('master-b', STALE_MS);
      assert.ok(reclaimed);
      assert.equal(reclaimed.id, id);
      assert.equal(reclaimed.claimedBy, 'master-b');
      assert.equal(reclaimed.attempts, 2);
      assert.equal(reclaimed.tilesDone, 0, 'progress restarts');
      assert.equal(reclaimed.tilesTotal, null);
      assert.ok(reclaimed.heartbeatAt && now() - reclaimed.heartbeatAt.getTime() < 10_000, 'fresh heartbeat');
      assert.ok(reclaimed.startedAt && now() - reclaimed.startedAt.getTime() < 10_000, 'fresh start');

      await passTime(2 * 60_000);
      assert.equal((await store.claimNext('master-c', STALE_MS))?.attempts, 3, 'every claim counts');
    });

    test('a master that lost its claim changes nothing; nobody changes a finished or pending request', async (t) => {
      const { store, passTime } = await open(t);
      const id = await store.insert({ bands: BANDS, indices: ['ndvi'] });
      await store.claimNext('master-a', STALE_MS);
      await passTime(3_600_000);
      await store.claimNext('master-b', STALE_MS);
      assert.equal(await store.recordProgress(claimBy(id, 'master-b', 2), 3), true);
      const before = await row(store, id);

      for (const master of ['master-a', 'master-never-claimed']) {
        assert.equal(await store.heartbeat(claimBy(id, master)), false);
        assert.equal(await store.setTilesTotal(claimBy(id, master), 99), false);
        assert.equal(await store.recordProgress(claimBy(id, master), 99), false);
        assert.equal(await store.complete(claimBy(id, master), RESULT), false);
        assert.equal(await store.fail(claimBy(id, master), 'late failure'), false);
        assert.equal(await store.release(claimBy(id, master)), false);
      }
      assert.deepEqual(await row(store, id), before, 'the row is untouched');

      assert.equal(await store.fail(claimBy(id, 'master-b', 2), 'boom'), true);
      const failed = await row(store, id);
      assert.equal(await store.complete(claimBy(id, 'master-b', 2), RESULT), false);
      assert.equal(await store.heartbeat(claimBy(id, 'master-b', 2)), false);
      assert.equal(await store.release(claimBy(id, 'master-b', 2)), false);
      assert.equal(await store.fail(claimBy(id, 'master-b', 2), 'again'), false);
      assert.deepEqual(await row(store, id), failed);

      const pending = await store.insert({ bands: BANDS, indices: ['ndvi'] });
      const untouched = await row(store, pending);
      assert.equal(await store.heartbeat(claimBy(pending, 'master-a')), false);
      assert.equal(await store.release(claimBy(pending, 'master-a')), false);
      assert.equal(await store.complete(claimBy(pending, 'master-a'), RESULT), false);
      assert.deepEqual(await row(store, pending), untouched);

      assert.equal(await store.heartbeat(claimBy('nonsense', 'master-b')), false);
      assert.equal(await store.fail(claimBy('987654321', 'master-b'), 'no such request'), false);
    });

    test('a claim is fenced on its attempt: the same master claiming again does not revive its stale claim', async (t) => {
      const { store, passTime } = await open(t);
      const id = await store.insert({ bands: BANDS, indices: ['ndvi'] });
      const first = await store.claimNext('master-a', STALE_MS);
      await passTime(3_600_000); // master-a stalled; then the same master id claims the request again
      const second = await store.claimNext('master-a', STALE_MS);
      assert.deepEqual([first?.attempts, second?.attempts, second?.claimedBy], [1, 2, 'master-a']);
      const stale = claimBy(id, 'master-a', 1);
      assert.equal(await store.heartbeat(stale), false);
      assert.equal(await store.recordProgress(stale, 7), false);
      assert.equal(await store.complete(stale, RESULT), false);
      assert.equal(await store.release(stale), false);
      assert.equal((await row(store, id)).status, 'running');
      assert.equal(await store.recordProgress(claimBy(id, 'master-a', 2), 3), true);
      assert.equal((await row(store, id)).tilesDone, 3);
    });

    test('complete, fail and release record the outcome on the row; list is newest first', async (t) => {
      const { store, passTime, now } = await open(t);
      const [a, b, c, d] = [
        await store.insert({ bands: BANDS, indices: ['ndvi'] }),
        await store.insert({ bands: BANDS, indices: ['ndvi'] }),
        await store.insert({ bands: BANDS, indices: ['ndvi'] }),
        await store.insert({ bands: BANDS, indices: ['ndvi'] }),
      ];
      for (let i = 0; i < 4; i += 1) await store.claimNext('master-a', STALE_MS);
      await passTime(DAY_MS);
      const claimedA = await row(store, a!); // its updated_at is now a day old

      const outputs = { ndvi: { png: '/out/ndvi.png', stats: { min: -0.5, max: 0.9 } } };
      const uploadUrls = { 'ndvi.png': 'https://lake.example/out/1/ndvi.png' };
      const done = await store.complete(claimBy(a!, 'master-a'), {
        outputDir: '/out/1',
        outputs,
        workerTiles: { 'worker-1': 7, 'worker-2': 5 },
        timings: { planMs: 3, computeMs: 120.5 },
        tilesDone: 12,
        uploadUrls,
        uploadError: null,
      });
      assert.equal(done, true);
      const completed = await row(store, a!);
      assert.equal(completed.status, 'completed');
      assert.equal(completed.outputDir, '/out/1');
      assert.deepEqual(completed.outputs, outputs);
      assert.deepEqual(completed.workerTiles, { 'worker-1': 7, 'worker-2': 5 });
      assert.deepEqual(completed.timings, { planMs: 3, computeMs: 120.5 });
      assert.equal(completed.tilesDone, 12);
      assert.deepEqual(completed.uploadUrls, uploadUrls);
      assert.equal(completed.uploadError, null);
      assert.equal(completed.error, null);
      assert.equal(completed.claimedBy, 'master-a');
      assert.ok(completed.finishedAt instanceof Date && now() - completed.finishedAt.getTime() < 60_000);
      assert.ok(completed.updatedAt.getTime() - claimedA.updatedAt.getTime() > DAY_MS - 60_000, 'updated_at refreshed');

      assert.equal(await store.complete(claimBy(d!, 'master-a'), { outputDir: '/out/4', outputs: undefined, workerTiles: {}, timings: {}, tilesDone: 0, uploadError: 'lake down' }), true);
      const bare = await row(store, d!);
      assert.deepEqual([bare.outputs, bare.uploadUrls, bare.uploadError], [null, null, 'lake down']);

      assert.equal(await store.fail(claimBy(b!, 'master-a'), 'band "nir" is missing'), true);
      const failed = await row(store, b!);
      assert.equal(failed.status, 'failed');
      assert.equal(failed.error, 'band "nir" is missing');
      assert.equal(failed.outputs, null);
      assert.ok(failed.finishedAt instanceof Date);

      assert.equal(await store.release(claimBy(c!, 'master-a')), true);
      const released = await row(store, c!);
      assert.equal(released.status, 'pending');
      assert.equal(released.claimedBy, null);
      assert.equal(released.startedAt, null);
      assert.equal(released.heartbeatAt, null);
      assert.equal(released.attempts, 1);
      const again = await store.claimNext('master-b', STALE_MS);
      assert.equal(again?.id, c);
      assert.equal(again?.attempts, 2);

      assert.deepEqual(
        (await store.list()).map((r) => r.id),
        [d, c, b, a],
        'newest first',
      );
      assert.deepEqual(
        (await store.list({ limit: 2 })).map((r) => r.id),
        [d, c],
      );
      assert.deepEqual(await store.list({ limit: 0 }), []);
      await assert.rejects(store.list({ limit: -1 }), /limit must be a whole number/);
    });

    test('list pages: before an id, of one status, at most limit; a malformed query is refused', async (t) => {
      const { store } = await open(t);
      const ids: string[] = [];
      for (let i = 0; i < 5; i += 1) ids.push(await store.insert({ bands: BANDS, indices: ['ndvi'] }));
      const [first, second, third, fourth, fifth] = ids as [string, string, string, string, string];
      await store.claimNext('master-a', STALE_MS); // the first is running, the rest pending
      assert.deepEqual((await store.list({ limit: 2 })).map((r) => r.id), [fifth, fourth]);
      assert.deepEqual((await store.list({ limit: 2, before: fourth })).map((r) => r.id), [third, second]);
      assert.deepEqual((await store.list({ limit: 2, before: second })).map((r) => r.id), [first]);
      assert.deepEqual((await store.list({ before: first })).map((r) => r.id), []);
      assert.deepEqual((await store.list({ status: 'running' })).map((r) => r.id), [first]);
      assert.deepEqual((await store.list({ status: 'pending', before: fifth, limit: 2 })).map((r) => r.id), [fourth, third]);
      assert.deepEqual(await store.list({ status: 'completed' }), []);
      await assert.rejects(store.list({ before: 'abc' }), /before must be a request id/);
      await assert.rejects(store.list({ limit: 1.5 }), /limit must be a whole number/);
    });

    test('cancel: a pending request is never claimed; a running one stops being held; an ended one is left alone', async (t) => {
      const { store, now } = await open(t);
      const pending = await store.insert({ bands: BANDS, indices: ['ndvi'] });
      const running = await store.insert({ bands: BANDS, indices: ['ndvi'] });
      assert.equal(await store.cancel(pending), 'cancelled');
      const claimed = await store.claimNext('master-a', STALE_MS);
      assert.equal(claimed?.id, running, 'the cancelled pending request is skipped');
      assert.equal(await store.setTilesTotal(claimBy(running, 'master-a'), 4), true);
      assert.equal(await store.cancel(running), 'cancelled');

      for (const id of [pending, running]) {
        const cancelled = await row(store, id);
        assert.equal(cancelled.status, 'cancelled');
        assert.equal(cancelled.error, null);
        assert.ok(cancelled.finishedAt instanceof Date && Math.abs(now() - cancelled.finishedAt.getTime()) < 10_000);
      }
      const before = await row(store, running);
      const claim = claimBy(running, 'master-a');
      assert.equal(await store.heartbeat(claim), false, 'the master running it finds its claim gone');
      assert.equal(await store.recordProgress(claim, 3), false);
      assert.equal(await store.complete(claim, RESULT), false);
      assert.equal(await store.fail(claim, 'late'), false);
      assert.equal(await store.release(claim), false);
      assert.deepEqual(await row(store, running), before, 'nothing more is recorded');
      assert.equal(await store.claimNext('master-b', 0), null, 'a cancelled request is never claimed again, stale or not');

      assert.equal(await store.cancel(running), 'finished', 'cancelled already');
      const done = await store.insert({ bands: BANDS, indices: ['ndvi'] });
      const failed = await store.insert({ bands: BANDS, indices: ['ndvi'] });
      await store.claimNext('master-a', STALE_MS);
      await store.claimNext('master-a', STALE_MS);
      assert.equal(await store.complete(claimBy(done, 'master-a'), RESULT), true);
      assert.equal(await store.fail(claimBy(failed, 'master-a'), 'boom'), true);
      assert.equal(await store.cancel(done), 'finished');
      assert.equal(await store.cancel(failed), 'finished');
      assert.equal((await row(store, done)).status, 'completed');
      assert.deepEqual([(await row(store, failed)).status, (await row(store, failed)).error], ['failed', 'boom']);
      assert.equal(await store.cancel('987654321'), 'not-found');
      assert.equal(await store.cancel('not-an-id'), 'not-found');
    });

    test('onFinished hears every end with its status, and nothing else', async (t) => {
      const { store } = await open(t);
      const heard: [string, FinishedStatus][] = [];
      let onHeard = (): void => {};
      const stop = await store.onFinished((id, status) => {
        heard.push([id, status]);
        onHeard();
      });
      t.after(stop);
      const until = (count: number): Promise<void> =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`heard ${JSON.stringify(heard)}, wanted ${count}`)), 2_000);
          onHeard = () => {
            if (heard.length < count) return;
            clearTimeout(timer);
            resolve();
          };
          onHeard();
        });
      const [a, b, c] = [
        await store.insert({ bands: BANDS, indices: ['ndvi'] }),
        await store.insert({ bands: BANDS, indices: ['ndvi'] }),
        await store.insert({ bands: BANDS, indices: ['ndvi'] }),
      ];
      for (let i = 0; i < 3; i += 1) await store.claimNext('master-a', STALE_MS);
      await store.heartbeat(claimBy(a, 'master-a'));
      await store.recordProgress(claimBy(a, 'master-a'), 1);
      await store.complete(claimBy(a, 'master-a'), RESULT);
      await store.fail(claimBy(b, 'master-a'), 'nope');
      await store.cancel(c);
      await store.cancel(c); // ended already: tells nobody
      const marker = await store.insert({ bands: BANDS, indices: ['ndvi'] });
      await store.cancel(marker);
      await until(4);
      assert.deepEqual(heard, [
        [a, 'completed'],
        [b, 'failed'],
        [c, 'cancelled'],
        [marker, 'cancelled'],
      ]);
    });

    test('countByStatus counts every status, zero for none', async (t) => {
      const { store } = await open(t);
      assert.deepEqual(await store.countByStatus(), { pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 });
      const ids = [];
      for (let i = 0; i < 6; i += 1) ids.push(await store.insert({ bands: BANDS, indices: ['ndvi'] }));
      for (let i = 0; i < 4; i += 1) await store.claimNext('master-a', STALE_MS);
      await store.complete(claimBy(ids[0]!, 'master-a'), RESULT);
      await store.fail(claimBy(ids[1]!, 'master-a'), 'nope');
      await store.cancel(ids[5]!);
      assert.deepEqual(await store.countByStatus(), { pending: 1, running: 2, completed: 1, failed: 1, cancelled: 1 });
    });

    test('worker statistics: upserted by worker and master, first_seen kept, listed newest first within the window', async (t) => {
      const { store, now } = await open(t);
      // One reading of the clock: read anew each time, a second could turn between a write and its check.
      const start = now();
      const at = (agoMs: number): Date => new Date(Math.floor((start - agoMs) / 1000) * 1000);
      const stats = (workerId: string, masterId: string, tilesDone: number, firstSeen: Date, lastSeen: Date): WorkerStatsRow => ({
        workerId,
        masterId,
        busy: tilesDone % 2 === 1,
        tilesDone,
        tilesPerMinute: tilesDone / 2,
        decodeMs: tilesDone * 1.5,
        computeMs: tilesDone * 2.25,
        encodeMs: tilesDone * 0.5,
        bytesIn: tilesDone * 1_000_000_000,
        bytesOut: tilesDone * 1000,
        firstSeen,
        lastSeen,
      });
      assert.deepEqual(await store.listWorkers(60_000), []);
      await store.saveWorkerStats([]);
      await store.saveWorkerStats([
        stats('w1', 'master-a', 3, at(50_000), at(40_000)),
        stats('w2', 'master-a', 5, at(50_000), at(30_000)),
        stats('w1', 'master-b', 7, at(50_000), at(20_000)),
        stats('w-old', 'master-a', 9, at(3_600_000), at(1_800_000)),
      ]);
      // A later write of w1 on master-a: every column but first_seen takes the new value.
      const later = stats('w1', 'master-a', 4, at(5_000), at(10_000));
      await store.saveWorkerStats([later]);
      const listed = await store.listWorkers(5 * 60_000);
      assert.deepEqual(
        listed.map((r) => [r.workerId, r.masterId]),
        [
          ['w1', 'master-a'],
          ['w1', 'master-b'],
          ['w2', 'master-a'],
        ],
        'newest last_seen first; the worker seen half an hour ago is left out',
      );
      assert.deepEqual(listed[0], { ...later, firstSeen: at(50_000) });
      assert.equal(typeof listed[0]?.bytesIn, 'number', 'bigint columns come back as numbers');
      assert.equal((await store.listWorkers(3_600_000 + 60_000)).length, 4);
      listed[0]!.lastSeen.setTime(0);
      assert.notEqual((await store.listWorkers(5 * 60_000))[0]?.lastSeen.getTime(), 0, 'rows come out as copies');
      await assert.rejects(store.listWorkers(-1));
    });

    test('onPending hears every insert and release, and nothing else; unsubscribing ends it', async (t) => {
      const { store } = await open(t);
      const heard = await pendingIds(store);
      const a = await store.insert({ bands: BANDS, indices: ['ndvi'] });
      assert.deepEqual(await heard.until(1), [a]);

      await store.claimNext('master-a', STALE_MS);
      await store.heartbeat(claimBy(a, 'master-a'));
      await store.setTilesTotal(claimBy(a, 'master-a'), 2);
      await store.recordProgress(claimBy(a, 'master-a'), 1);
      assert.equal(await store.release(claimBy(a, 'master-a')), true);
      assert.deepEqual(await heard.until(2), [a, a], 'the release');

      await store.claimNext('master-a', STALE_MS);
      assert.equal(await store.complete(claimBy(a, 'master-a', 2), RESULT), true);
      const b = await store.insert({ bands: BANDS, indices: ['ndvi'] });
      await store.claimNext('master-a', STALE_MS);
      await store.fail(claimBy(b, 'master-a'), 'nope');
      await store.release(claimBy(b, 'master-a')); // fenced: changes nothing, tells nobody
      const marker = await store.insert({ bands: BANDS, indices: ['ndvi'] });
      // Wake-ups arrive in order: had claim, complete or fail sent one, it would come before the marker.
      assert.deepEqual(await heard.until(4), [a, a, b, marker]);

      await heard.stop();
      const other = await pendingIds(store);
      const late = await store.insert({ bands: BANDS, indices: ['ndvi'] });
      assert.deepEqual(await other.until(1), [late]);
      assert.deepEqual(heard.ids, [a, a, b, marker], 'nothing after unsubscribing');
      await other.stop();
    });
  });
}
