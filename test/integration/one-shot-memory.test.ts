/**
 * `tessera run` needs no SQL server: on the bundled sample it completes with the request kept in
 * memory, none of its processes loads PGlite, pg or the database modules (a module hook logs what
 * each one imports, seen through the CLI's bundle), it leaves nothing in TMPDIR, and it prints the summary and writes the manifest
 * as a run on the embedded database did.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../../shared/package-root.js';
import { lastJsonLine, runCli } from '../support/cli.js';
import { bundleModuleExpander } from '../support/loaded-modules.js';

const sample = join(packageRoot(), 'samples', 'L7_ETMs.tif');
/** What a one-shot run must not load: the embedded database and anything that talks SQL. */
const DATABASE_MODULES = [/@electric-sql\/pglite/, /\/node_modules\/pg\//, /\/master\/db\/(embedded-postgres|database|migrate)\.js$/];

test('tessera run completes without a database: no PGlite or pg loaded, nothing left in TMPDIR', async (t) => {
  const scratch = await mkdtemp(join(tmpdir(), 'tessera-one-shot-'));
  const logDir = await mkdtemp(join(tmpdir(), 'tessera-module-log-'));
  t.after(async () => {
    await rm(scratch, { recursive: true, force: true });
    await rm(logDir, { recursive: true, force: true });
  });
  const moduleLog = join(logDir, 'modules.log');
  const out = join(scratch, 'out');
  const result = await runCli(['run', '--workers', '2', '--band', `red=${sample}#3`, '--band', `nir=${sample}#4`, '--index', 'ndvi', '--out', out, '--json'], {
    TMPDIR: scratch,
    TESSERA_MODULE_LOG: moduleLog,
    NODE_OPTIONS: `--import=${join(packageRoot(), 'dist', 'test', 'support', 'module-log.js')}`,
  });
  assert.equal(result.code, 0, `tessera run failed:\n${result.stderr}\n${result.stdout}`);

  const summary = lastJsonLine<Record<string, unknown>>(result.stdout);
  assert.deepEqual(Object.keys(summary), ['id', 'status', 'error', 'outputDir', 'outputs', 'tilesTotal', 'tilesDone', 'workerTiles', 'timings', 'uploadUrls', 'uploadError']);
  assert.equal(summary['id'], '1', 'the first request of a fresh queue, as before');
  assert.equal(summary['status'], 'completed');
  assert.equal(summary['outputDir'], join(out, '1'));
  const manifest = JSON.parse(await readFile(join(out, '1', 'manifest.json'), 'utf8')) as { requestId: string; tiles: { total: number } };
  assert.equal(manifest.requestId, '1');
  assert.equal(manifest.tiles.total, summary['tilesTotal']);
  assert.deepEqual(await readdir(scratch), ['out'], 'no temporary database, nothing else in TMPDIR');

  const expand = await bundleModuleExpander(packageRoot());
  const logged = (await readFile(moduleLog, 'utf8')).trim().split('\n').map((line) => line.split(' ') as [string, string]);
  assert.ok(logged.some(([, url]) => url.includes('/dist/bundle/')), 'the CLI ran from its bundle');
  const loaded = logged.flatMap(([pid, url]) => expand(url).map((module) => [pid, module] as const));
  const byProcess = new Map<string, string[]>();
  for (const [pid, url] of loaded) byProcess.set(pid, [...(byProcess.get(pid) ?? []), url]);
  assert.equal(byProcess.size, 3, 'the run process and its two workers were all watched');
  assert.ok(loaded.some(([, url]) => url.endsWith('/dist/master/start-master.js')), 'the log does see the master modules');
  assert.ok(loaded.some(([, url]) => url.endsWith('/dist/master/store/in-memory-request-store.js')));
  const forbidden = loaded.filter(([, url]) => DATABASE_MODULES.some((pattern) => pattern.test(url)));
  assert.deepEqual(forbidden, [], 'no database module loaded');
});
