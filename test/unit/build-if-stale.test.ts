/**
 * scripts/build-if-stale.mjs, which `npm run demo` runs first: no build when dist/ is newer than
 * every input, a build when an input changed after the last build started. On a small fake package
 * whose `npm run build` only leaves a marker, with the timestamps set by the test.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { packageRoot } from '../../shared/package-root.js';

const SCRIPT = join(packageRoot(), 'scripts', 'build-if-stale.mjs');
const BUILD_STARTED_MS = Date.parse('2026-12-01T10:00:00Z');
const BEFORE = new Date(BUILD_STARTED_MS - 60_000);
const AFTER = new Date(BUILD_STARTED_MS + 60_000);
const INPUTS = ['cli/bin.ts', 'master/db/migrate.ts', 'proto/tessera.proto', 'sql/migrations/001_a.sql', 'scripts/build.mjs', 'tsconfig.json', 'package.json'];

let root = '';

async function put(path: string, content: string, time: Date): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), content);
  await utimes(join(root, path), time, time);
}

/** Runs the script in the fake package; resolves to its exit code and output (it may exit 1). */
function check(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [SCRIPT, '--root', root, ...args], { cwd: root }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : undefined;
      if (code === undefined) reject(error ?? new Error('no exit code'));
      else resolve({ code, stdout, stderr });
    });
  });
}

const built = (): boolean => existsSync(join(root, 'built.marker'));

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tessera-build-check-'));
  const fakeBuild = `node -e "require('fs').writeFileSync('built.marker', 'yes')"`;
  for (const input of INPUTS) await put(input, input === 'package.json' ? JSON.stringify({ scripts: { build: fakeBuild } }) : `// ${input}\n`, BEFORE);
  await put('dist/cli/bin.js', '// compiled\n', BEFORE);
  await put('dist/.build-stamp', JSON.stringify({ startedAtMs: BUILD_STARTED_MS }), BEFORE);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

test('dist/ newer than every input: fresh, and no build runs', async () => {
  assert.deepEqual(await check('--check'), { code: 0, stdout: 'dist/ is up to date\n', stderr: '' });
  const run = await check();
  assert.equal(run.code, 0);
  assert.equal(run.stderr, '');
  assert.equal(built(), false, 'npm run build did not run');
});

test('a source changed after the last build started: stale, naming it, and the build runs', async () => {
  await put('master/db/migrate.ts', '// edited\n', AFTER);
  const said = await check('--check');
  assert.equal(said.code, 1);
  assert.match(said.stdout, /^dist\/ is stale: master\/db\/migrate\.ts changed after the last build started\n$/);
  assert.equal(built(), false, '--check builds nothing');
  const run = await check();
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /dist\/ is stale \(master\/db\/migrate\.ts changed .*\): npm run build/);
  assert.equal(built(), true, 'npm run build ran');
});

test('each kind of input counts: proto, migrations, build scripts, tsconfig, package.json, a new file', async () => {
  for (const input of [...INPUTS, 'worker/new-module.ts']) {
    await put(input, '// changed\n', AFTER);
    const said = await check('--check');
    assert.equal(said.code, 1, `${input} is an input`);
    assert.match(said.stdout, new RegExp(`${input.replace(/[./]/g, '\\$&')} changed`));
    await put(input, '// back\n', BEFORE);
  }
});

test('generated proto types and dist/ itself are output, not input', async () => {
  await put('shared/proto/generated/tessera.ts', '// generated during the build\n', AFTER);
  await put('dist/cli/bin.js', '// written during the build\n', AFTER);
  assert.equal((await check('--check')).code, 0);
});

test('no stamp (never built, or the last build failed) or no dist/cli/bin.js: stale', async () => {
  await rm(join(root, 'dist', '.build-stamp'));
  assert.match((await check('--check')).stdout, /stale: no dist\/\.build-stamp/);
  await put('dist/.build-stamp', JSON.stringify({ startedAtMs: BUILD_STARTED_MS }), BEFORE);
  await rm(join(root, 'dist', 'cli', 'bin.js'));
  assert.match((await check('--check')).stdout, /stale: dist\/cli\/bin\.js is missing/);
});
