/**
 * `npm run build` leaves dist/cli/bin.js executable, so `npx tessera` works after it (tsc writes
 * the file anew without the exec bit; scripts/make-bin-executable.mjs restores it).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { packageRoot } from '../../shared/package-root.js';

const run = promisify(execFile);
const bin = join(packageRoot(), 'dist', 'cli', 'bin.js');

test('dist/cli/bin.js is executable and runs by itself (its #! line)', async () => {
  assert.equal(statSync(bin).mode & 0o111, 0o111, `mode ${(statSync(bin).mode & 0o777).toString(8)}`);
  const { stdout } = await run(bin, ['--help'], { cwd: packageRoot() });
  assert.match(stdout, /Usage: tessera/);
});

test('npx tessera --help works in the package folder', { timeout: 60_000 }, async () => {
  const { stdout } = await run('npx', ['--no-install', 'tessera', '--help'], { cwd: packageRoot() });
  assert.match(stdout, /Usage: tessera/);
});
