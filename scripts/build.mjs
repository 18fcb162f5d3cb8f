// `npm run build`: a clean dist/ with the compiled code and the embedded database's template.
//   1. remove dist/; generate the proto types and the WebAssembly kernels (scripts/gen-wasm.mjs);
//   2. compile (tsc) and, at the same time, run PGlite's initdb for the template (scripts/initdb-template.mjs):
//      each keeps a core busy for 4-12 s, so side by side the build takes about as long as tsc alone;
//   3. bundle the compiled CLI into dist/bundle/ (scripts/bundle-cli.mjs: faster process start-up);
//      migrate the template with the compiled migrate() (dist/master/db/make-template.js);
//   4. make dist/cli/bin.js executable; write dist/.build-stamp with the time the build started
//      (scripts/build-if-stale.mjs, which `npm run demo` runs, compares the sources with it).
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const startedAtMs = Date.now(); // before any source is read
const require = createRequire(import.meta.url);
const TEMPLATE = join('dist', 'embedded-db-template');
const INITDB_DRAFT = join('dist', '.embedded-db-initdb');

/** Runs `node args…`, inheriting the terminal; rejects unless it exits 0. */
function node(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`node ${args.join(' ')} failed (${signal ?? `exit ${code}`})`)),
    );
  });
}

rmSync('dist', { recursive: true, force: true });
await node(['scripts/gen-proto.mjs']);
await node(['scripts/gen-wasm.mjs']);
mkdirSync('dist');
const steps = await Promise.allSettled([
  node([require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json']),
  node(['--liftoff-only', 'scripts/initdb-template.mjs', INITDB_DRAFT]), // half the CPU: see embedded-postgres.ts
]);
const failed = steps.filter((step) => step.status === 'rejected');
if (failed.length > 0) {
  for (const step of failed) process.stderr.write(`build: ${step.reason instanceof Error ? step.reason.message : String(step.reason)}\n`);
  process.exit(1);
}
await node(['scripts/bundle-cli.mjs']);
await node([join('dist', 'master', 'db', 'make-template.js'), INITDB_DRAFT, TEMPLATE]);
// tsc writes dist/cli/bin.js as a new file without the exec bit, and npm links `tessera` to it only at
// install time: without this, `npx tessera` after `npm run build` fails with "Permission denied".
chmodSync(join('dist', 'cli', 'bin.js'), 0o755);
writeFileSync(join('dist', '.build-stamp'), `${JSON.stringify({ startedAt: new Date(startedAtMs).toISOString(), startedAtMs })}\n`);
