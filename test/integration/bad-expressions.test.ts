/**
 * Bad custom expressions and ranges against one running master (real PostgreSQL, real gRPC and
 * workers), inserted with SQL as a user would type them: each ends `failed` with a readable reason
 * (the safe parser's words: nothing of the text is ever run), and a good request inserted right
 * after each completes — the master keeps serving. A good expression completes with its `expr`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startPostgresCluster, type PostgresCluster } from '../support/postgres-cluster.js';
import { writeOddInputs, type OddInputs } from '../support/odd-inputs.js';
import { waitFinished } from '../support/wait-finished.js';

interface Row {
  readonly indices?: readonly string[];
  readonly expression?: string | null;
  readonly range?: readonly number[] | null;
}

interface Case {
  readonly input: string;
  readonly row: Row;
  readonly expect: RegExp;
}

const CASES: readonly Case[] = [
  { input: 'a syntax error', row: { expression: '(nir - red' }, expect: /^the expression "\(nir - red" lacks a "\)" at its end$/ },
  { input: 'two operators in a row', row: { expression: 'nir * / red' }, expect: /^the expression has "\/" where a number, a band or "\(" should be at column 7: nir \* \/ red$/ },
  { input: 'an unknown band', row: { expression: '(nir - rouge) / (nir + rouge)' }, expect: /^the expression has "rouge", which is not a band \(the bands: red, nir, green, swir16, swir22, blue\) at column 8: / },
  { input: '`constructor`', row: { expression: 'constructor' }, expect: /^the expression has "constructor", which is not a band \(the bands: red, nir, green, swir16, swir22, blue\) at column 1: constructor$/ },
  { input: '`process.exit(1)`', row: { expression: 'process.exit(1)' }, expect: /^the expression has "\." at column 8, which is not a number, a band name, \+ - \* \/ or a parenthesis$/ },
  { input: 'a 100 kB string', row: { expression: 'nir+'.repeat(25_600) }, expect: /^the expression is 102400 characters long, more than the 500 allowed$/ },
  { input: 'a band the request does not give', row: { expression: 'nir - swir22' }, expect: /^the expression needs band "swir22", which the request does not give; add it to bands$/ },
  { input: 'range lo = hi', row: { expression: 'nir - red', range: [1, 1] }, expect: /^range \[1, 1\] must have lo < hi: lo is the value of code 1, hi that of code 255$/ },
  { input: 'range lo > hi', row: { expression: 'nir - red', range: [1, -1] }, expect: /^range \[1, -1\] must have lo < hi/ },
  { input: 'range with NaN', row: { expression: 'nir - red', range: [Number.NaN, 1] }, expect: /^range must be two finite numbers \[lo, hi\], got \[NaN, 1\]$/ },
  { input: 'range with Infinity', row: { expression: 'nir - red', range: [-1, Number.POSITIVE_INFINITY] }, expect: /^range must be two finite numbers \[lo, hi\], got \[-1, Infinity\]$/ },
  { input: 'range of three numbers', row: { expression: 'nir - red', range: [-1, 0, 1] }, expect: /^range must be two numbers \[lo, hi\], the values mapped onto codes 1 to 255 \(e\.g\. \[-1, 1\]\), got \[-1, 0, 1\]$/ },
  { input: 'range without an expression', row: { indices: ['ndvi'], range: [0, 1] }, expect: /^range is the value range of a custom expression, and the request has no expression/ },
  { input: 'expr in indices without an expression', row: { indices: ['expr'] }, expect: /^index "expr" is the output of a custom expression, and the request has none: set expression/ },
];

describe('bad custom expressions, one master', { timeout: 120_000 }, () => {
  let dir: string;
  let files: OddInputs;
  let cluster: PostgresCluster;
  let client: pg.Client;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-bad-expressions-'));
    files = await writeOddInputs(join(dir, 'in'));
    cluster = await startPostgresCluster({ outputDir: join(dir, 'out'), workers: 2, prefix: 'expressions' });
    client = cluster.client;
  });
  after(async () => {
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const insert = async (row: Row): Promise<string> => {
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO mosaic_requests (bands, indices, expression, range) VALUES ($1::jsonb, $2::text[], $3::text, $4::double precision[]) RETURNING id::text AS id`,
      [JSON.stringify({ red: files.red, nir: files.nir }), row.indices ?? [], row.expression ?? null, row.range ?? null],
    );
    return rows[0]!.id;
  };

  test('each bad expression fails its row readably, and the good request after it completes', async () => {
    const inserted: Array<{ kase: Case; id: string; goodId: string }> = [];
    for (const kase of CASES) inserted.push({ kase, id: await insert(kase.row), goodId: await insert({ indices: ['ndvi'] }) });
    const problems: string[] = [];
    for (const { kase, id, goodId } of inserted) {
      const row = await waitFinished(cluster.master.store, id, 60_000);
      const message = row.error ?? '';
      try {
        assert.equal(row.status, 'failed', kase.input);
        assert.doesNotMatch(message, /\bundefined\b|\[object |TypeError|ReferenceError|^Error:|\n\s+at /, `${kase.input}: not a message for a user: ${message}`);
        assert.ok(message.length < 600, `${kase.input}: ${message.length} characters`);
        assert.match(message, kase.expect, kase.input);
        const good = await waitFinished(cluster.master.store, goodId, 60_000);
        assert.equal(good.status, 'completed', `the good request after "${kase.input}": ${good.error ?? ''}`);
      } catch (error) {
        problems.push(error instanceof Error ? error.message : String(error));
      }
    }
    assert.deepEqual(problems, []);
  });

  test('a good expression inserted with SQL completes, its expression and range in the manifest', async () => {
    const id = await insert({ expression: ' (nir - red) / (nir + red + 0.5) ', range: [-0.5, 1.5] });
    const row = await waitFinished(cluster.master.store, id, 60_000);
    assert.equal(row.status, 'completed', row.error ?? '');
    const manifest = JSON.parse(await readFile(join(row.outputDir!, 'manifest.json'), 'utf8')) as { indices: string[]; expression: unknown };
    assert.deepEqual(manifest.indices, ['expr']);
    assert.deepEqual(manifest.expression, { text: '(nir - red) / (nir + red + 0.5)', bands: ['red', 'nir'], range: [-0.5, 1.5] });
  });
});
