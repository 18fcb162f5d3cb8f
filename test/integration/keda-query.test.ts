/**
 * The KEDA trigger's query, read from deploy/kubernetes/ (not a copy), against a real PostgreSQL
 * migrated as a master leaves it: with pending, running and finished requests it counts the workers
 * the queue can keep busy, and the replica count KEDA derives from it (ceil(value / target) within
 * min..max, none at or under the activation value) is what the ScaledObject's comments promise:
 * one worker per strip left, at most 6 per request, the maximum when the queue is deep, and zero
 * when nothing is pending or running.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { connectDatabase, type Database } from '../../master/db/database.js';
import { migrate } from '../../master/db/migrate.js';
import { packageRoot } from '../../shared/package-root.js';
import { renderKustomization } from '../support/kustomize.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

interface ScaledObjectSpec {
  readonly minReplicaCount: number;
  readonly maxReplicaCount: number;
  readonly triggers: ReadonlyArray<{ readonly type: string; readonly metadata: Readonly<Record<string, string>> }>;
}

const scaled = renderKustomization(join(packageRoot(), 'deploy', 'kubernetes')).find((r) => r.object.kind === 'ScaledObject');
assert.ok(scaled, 'deploy/kubernetes has a ScaledObject');
const spec = scaled.object['spec'] as ScaledObjectSpec;
const trigger = spec.triggers.find((t) => t.type === 'postgresql');
assert.ok(trigger?.metadata['query'], 'a postgresql trigger with a query');
const query = trigger.metadata['query'];
const target = Number(trigger.metadata['targetQueryValue']);
const activation = Number(trigger.metadata['activationTargetQueryValue'] ?? 0);

/** What KEDA and the HPA make of the query's value. */
function replicasFor(value: number): number {
  if (value <= activation) return spec.minReplicaCount;
  return Math.min(spec.maxReplicaCount, Math.max(spec.minReplicaCount, 1, Math.ceil(value / target)));
}

type Row = { status: string; tilesTotal: number | null; tilesDone: number };

describe('the KEDA query on mosaic_requests', () => {
  let database: TestDatabase;
  let db: Database;

  before(async () => {
    database = await createTestDatabase();
    db = connectDatabase({ url: database.url, maxConnections: 2, notifications: false });
    await migrate(db);
  });
  after(async () => {
    await db?.close();
    await database?.drop();
  });
  beforeEach(async () => {
    await db.query('TRUNCATE mosaic_requests');
  });

  async function insert(rows: readonly Row[]): Promise<void> {
    for (const row of rows) {
      await db.query(
        `INSERT INTO mosaic_requests (bands, status, tiles_total, tiles_done, finished_at)
         VALUES ('{"red": "/data/input/B04.tif", "nir": "/data/input/B08.tif"}', $1, $2, $3, CASE WHEN $1 IN ('completed', 'failed', 'cancelled') THEN now() END)`,
        [row.status, row.tilesTotal, row.tilesDone],
      );
    }
  }
  async function value(): Promise<number> {
    const { rows } = await db.query<Record<string, unknown>>(query);
    assert.equal(rows.length, 1, 'one row');
    const cells = Object.values(rows[0] ?? {});
    assert.equal(cells.length, 1, 'one column');
    // KEDA's scaler reads the value as a number: a bigint arrives from pg as a string of digits.
    assert.match(String(cells[0]), /^\d+$/, 'a whole number');
    return Number(cells[0]);
  }

  test('an empty queue, or only finished requests: 0, and the workers scale to zero', async () => {
    assert.equal(await value(), 0);
    await insert([
      { status: 'completed', tilesTotal: 11, tilesDone: 11 },
      { status: 'failed', tilesTotal: 11, tilesDone: 3 },
      { status: 'failed', tilesTotal: null, tilesDone: 0 },
      { status: 'cancelled', tilesTotal: 11, tilesDone: 5 },
    ]);
    assert.equal(await value(), 0);
    assert.equal(replicasFor(await value()), 0);
  });

  test('one running request: a worker per strip left, at most 6; none once every strip is in', async () => {
    await insert([{ status: 'running', tilesTotal: 11, tilesDone: 9 }]);
    assert.equal(await value(), 2);
    assert.equal(replicasFor(await value()), 2);
    await db.query('UPDATE mosaic_requests SET tiles_done = 1');
    assert.equal(await value(), 6, '10 strips left, but one master feeds 6 workers');
    await db.query('UPDATE mosaic_requests SET tiles_done = 11');
    assert.equal(await value(), 0, 'the master is stitching: no worker needed');
  });

  test('queued, running and finished together: unplanned requests count as a whole scene; the maximum caps it', async () => {
    await insert([
      { status: 'pending', tilesTotal: null, tilesDone: 0 }, // 6
      { status: 'running', tilesTotal: null, tilesDone: 0 }, // claimed, not planned yet: 6
      { status: 'running', tilesTotal: 11, tilesDone: 8 }, // 3
      { status: 'completed', tilesTotal: 11, tilesDone: 11 },
      { status: 'failed', tilesTotal: 11, tilesDone: 2 },
      { status: 'cancelled', tilesTotal: null, tilesDone: 0 },
    ]);
    assert.equal(await value(), 15);
    assert.equal(replicasFor(await value()), Math.min(15, spec.maxReplicaCount));
    // A request handed back to pending keeps its plan: its strips left count, still at most 6.
    await insert([{ status: 'pending', tilesTotal: 11, tilesDone: 4 }]);
    assert.equal(await value(), 21);
    assert.equal(replicasFor(await value()), spec.maxReplicaCount);
  });
});
