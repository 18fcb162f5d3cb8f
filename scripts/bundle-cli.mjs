// `node scripts/bundle-cli.mjs [--root <package folder>]`: bundles the compiled CLI
// (dist/cli/main.js) into dist/bundle/, which dist/cli/bin.js runs (scripts/build.mjs and the
// Dockerfiles call it after tsc).
//
// Why: every tessera process used to spend about 0.6 s of CPU starting, a third of it in Node's module
// loader resolving, reading, lexing and linking ~170 modules one by one. On the full-scene benchmark
// (2 cores, a master and 2 workers starting at once) that is ~2 s of the job's ~11 s of CPU. Bundled,
// `tessera run` on the sample used 1.28-1.46 s of CPU for its three processes instead of 1.72-1.96 s,
// and finished in 0.84-0.95 s instead of 1.08-1.23 s (medians of 8, 2026-12-02). esbuild does this in
// a quarter of a second, and nothing hand-written would do it better.
//
// - ESM with code splitting, so every `await import()` the code uses to load a part on first use
//   (one-shot.ts, the master, the web server, COG output …) stays a separate file, loaded only then.
// - Bundled: tessera's own code and the pure-JavaScript packages a process loads at start-up
//   (BUNDLED_ROOTS and their dependencies). Left to Node: every other package, in particular those that
//   find files beside their own code (grpc-health-check's .proto, sharp's native library, PGlite's
//   WebAssembly, the EPSG JSON) and those loaded only on use. pino is bundled: its transports, whose
//   worker threads load files beside pino's code, are never used (shared/logger.ts writes to fd 2).
//   geotiff is bundled with its decoders as chunks of their own, loaded on first use as before.
//   Bundling the two saved each process about 20 ms of CPU at start-up (2026-12-04, 10 interleaved
//   runs of `tessera run` on the sample: master 0.739 -> 0.721 s, each worker 0.575 -> 0.553 s).
// - keepNames: error classes keep their names (errors.ts prints them), even where two modules had a
//   class of the same name.
// - dist/bundle/inputs.json names, for each output file, the modules in it (paths from the package
//   folder): what a test that watches which modules a process loads needs to see through the bundle.
// - The bundled CommonJS packages call require() for Node's built-ins; the banner gives each output
//   file a require of its own (an ES module has none).
import { build } from 'esbuild';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The packages bundled with their dependencies: what a master or worker loads before its first tile. */
const BUNDLED_ROOTS = ['@grpc/grpc-js', '@grpc/proto-loader', 'commander', 'dotenv', 'geotiff', 'p-queue', 'pg', 'pino', 'proj4'];

const rootFlag = process.argv.indexOf('--root');
const root = resolve(rootFlag >= 0 ? process.argv[rootFlag + 1] : '.');

/** The package.json of `name` as Node would find it from `dir` (node_modules folders upwards). */
function installedManifest(name, dir) {
  for (let at = resolve(dir); ; at = dirname(at)) {
    const candidate = join(at, 'node_modules', name, 'package.json');
    if (existsSync(candidate)) return candidate;
    if (dirname(at) === at) throw new Error(`bundle-cli: ${name} is not installed (run npm ci)`);
  }
}

/** BUNDLED_ROOTS and, recursively, the `dependencies` of each, as installed under `root`. */
function bundledPackages() {
  const found = new Set();
  const visit = (name, from) => {
    if (found.has(name)) return;
    found.add(name);
    const manifestPath = installedManifest(name, dirname(from));
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    for (const dependency of Object.keys(manifest.dependencies ?? {})) visit(dependency, manifestPath);
  };
  for (const name of BUNDLED_ROOTS) visit(name, join(root, 'package.json'));
  return found;
}

/** The package a bare import names: `@scope/name` or `name`, without a subpath. */
function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function externalUnlessBundled(bundled) {
  return {
    name: 'external-unless-bundled',
    setup(on) {
      on.onResolve({ filter: /^[^./]/ }, (args) =>
        args.path.startsWith('node:') || bundled.has(packageName(args.path)) ? undefined : { path: args.path, external: true },
      );
    },
  };
}

const outdir = join(root, 'dist', 'bundle');
rmSync(outdir, { recursive: true, force: true });
const { metafile } = await build({
  absWorkingDir: root,
  entryPoints: { tessera: join('dist', 'cli', 'main.js') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  keepNames: true,
  sourcemap: 'linked',
  banner: { js: "import { createRequire as __bundleCreateRequire } from 'node:module'; const require = __bundleCreateRequire(import.meta.url);" },
  plugins: [externalUnlessBundled(bundledPackages())],
  metafile: true,
  logLevel: 'warning',
});
// esbuild makes a chunk for a package's CommonJS module that exports only `default`: `await
// import('pkg')` of a bundled CommonJS package would lose its named exports (Node's own loader keeps
// them), so the build refuses it. Import such a package statically, from a module that is itself
// loaded on use. An ES module (geotiff's decoders, geotiff itself) keeps its exports either way.
const isCommonJs = (path) => metafile.inputs[path]?.format === 'cjs';
const lost = Object.entries(metafile.inputs).flatMap(([file, input]) =>
  input.imports.filter((i) => i.kind === 'dynamic-import' && !i.external && i.path.includes('node_modules/') && isCommonJs(i.path)).map((i) => `${file}: import('${i.original}')`),
);
if (lost.length > 0) throw new Error(`bundle-cli: dynamic import of a bundled package (import it statically instead):\n  ${lost.join('\n  ')}`);
const inputs = Object.fromEntries(
  Object.entries(metafile.outputs)
    .filter(([file]) => file.endsWith('.js'))
    .map(([file, output]) => [file, Object.keys(output.inputs)]),
);
writeFileSync(join(outdir, 'inputs.json'), `${JSON.stringify(inputs, null, 1)}\n`);
