/**
 * `npm run build` leaves dist/cli/bin.js executable, so it runs by itself and through `npm link`
 * (tsc writes the file anew without the exec bit; scripts/build.mjs restores it). It runs the bundle
 * unless that is missing or older than the compiled modules.
 *
 * No test runs `npx tessera` here on purpose: in the package folder, npm 11 installs a copy of the
 * package into its npx cache to run its own bin, and that runs `prepare` — a rebuild that deletes
 * dist/ while the other test files run from it (the README says so too).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { NODE_FLAGS } from '../../cli/node-flags.js';
import { packageRoot } from '../../shared/package-root.js';

const run = promisify(execFile);
const bin = join(packageRoot(), 'dist', 'cli', 'bin.js');

test('dist/cli/bin.js is executable and runs by itself (its #! line)', async () => {
  assert.equal(statSync(bin).mode & 0o111, 0o111, `mode ${(statSync(bin).mode & 0o777).toString(8)}`);
  const { stdout } = await run(bin, ['--help'], { cwd: packageRoot() });
  assert.match(stdout, /Usage: tessera/);
});

test('its #! line starts node with the V8 flags tessera runs with (cli/node-flags.ts)', () => {
  const [first] = readFileSync(bin, 'utf8').split('\n', 1);
  assert.equal(first, `#!/usr/bin/env -S node ${NODE_FLAGS.join(' ')}`);
});

test('it runs the bundle, or the compiled modules where the bundle is missing or older than they are', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tessera-bin-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
  mkdirSync(join(root, 'dist', 'bundle'));
  copyFileSync(bin, join(root, 'dist', 'cli', 'bin.js'));
  const main = join(root, 'dist', 'cli', 'main.js');
  const bundle = join(root, 'dist', 'bundle', 'tessera.js');
  writeFileSync(main, "process.stdout.write('modules');\n");
  const ran = async (): Promise<string> => (await run(process.execPath, [join(root, 'dist', 'cli', 'bin.js')])).stdout;

  assert.equal(await ran(), 'modules', 'no bundle');
  writeFileSync(bundle, "process.stdout.write('bundle');\n");
  const [older, newer] = [new Date(Date.now() - 60_000), new Date()];
  utimesSync(main, older, older);
  utimesSync(bundle, newer, newer);
  assert.equal(await ran(), 'bundle', 'a bundle built after the modules');
  utimesSync(main, newer, newer);
  utimesSync(bundle, older, older);
  assert.equal(await ran(), 'modules', 'modules compiled after the bundle (tsc alone): the bundle is stale');
});
