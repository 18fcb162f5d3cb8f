// `npm run demo` starts here: builds (npm run build) only when dist/ is missing or older than what the
// build reads, so a demo on a built tree starts at once instead of spending 15-30 s recompiling.
//
// dist/.build-stamp (written by scripts/build.mjs once a build has succeeded) holds the time that
// build STARTED; a file edited while it ran is newer than that, so the next check builds again.
// Stale when: no stamp, no dist/cli/bin.js, or any input file modified after the stamp's start.
// Inputs: the TypeScript folders tsconfig.json compiles, proto/ (gen-proto), sql/ (the embedded
// database's template), scripts/, tsconfig*.json, package.json and package-lock.json. The generated
// shared/proto/generated/ and shared/wasm/generated/ are output, not input.
//
//   node scripts/build-if-stale.mjs [--check] [--root <package folder>]
//   --check: only say; exit 0 when fresh, 1 when stale (and why), build nothing.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const INPUT_FOLDERS = ['master', 'worker', 'shared', 'cli', 'test', 'bench', 'proto', 'sql', 'scripts'];
const INPUT_FILES = ['tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'];
const NOT_INPUT = [join('shared', 'proto', 'generated'), join('shared', 'wasm', 'generated')];
const STAMP = join('dist', '.build-stamp');

/** Every file under `dir` (none if it does not exist), skipping the folders in NOT_INPUT. */
function* filesUnder(root, dir) {
  let entries;
  try {
    entries = readdirSync(join(root, dir), { withFileTypes: true });
  } catch (error) {
    if (error.code === 'ENOENT') return;
    throw error;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!NOT_INPUT.includes(path)) yield* filesUnder(root, path);
    } else {
      yield path;
    }
  }
}

function modifiedMs(path) {
  try {
    return statSync(path).mtimeMs;
  } catch (error) {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Why dist/ under `root` needs a build, or undefined when it is up to date. */
function staleness(root) {
  let startedAtMs;
  try {
    startedAtMs = JSON.parse(readFileSync(join(root, STAMP), 'utf8')).startedAtMs;
  } catch {
    return `no ${STAMP} (never built, or the last build failed)`;
  }
  if (typeof startedAtMs !== 'number') return `${STAMP} is malformed`;
  if (modifiedMs(join(root, 'dist', 'cli', 'bin.js')) === undefined) return 'dist/cli/bin.js is missing';
  const inputs = [...INPUT_FOLDERS.flatMap((dir) => [...filesUnder(root, dir)]), ...INPUT_FILES];
  for (const input of inputs) {
    const mtime = modifiedMs(join(root, input));
    if (mtime !== undefined && mtime > startedAtMs) return `${input} changed after the last build started`;
  }
  return undefined;
}

const args = process.argv.slice(2);
const rootAt = args.indexOf('--root');
const root = rootAt >= 0 ? args[rootAt + 1] : process.cwd();
if (root === undefined) throw new Error('--root needs a folder');
const reason = staleness(root);
if (args.includes('--check')) {
  process.stdout.write(reason === undefined ? 'dist/ is up to date\n' : `dist/ is stale: ${reason}\n`);
  process.exitCode = reason === undefined ? 0 : 1;
} else if (reason !== undefined) {
  process.stderr.write(`dist/ is stale (${reason}): npm run build\n`);
  const built = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (built.error) throw built.error;
  process.exitCode = built.status ?? 1;
}
