/**
 * A new embedded data directory starts as a copy of a ready-made one instead of running PGlite's
 * initdb, which is most of a cold start (2026-12-01, 2-core machine: initdb 3.8–5.5 s and an 800 MB
 * peak, against 60–90 ms to copy the 39 MB, 981-file template).
 *
 * `npm run build` makes the template (scripts/build.mjs): initdb, then the migrations of the tree
 * being built, then a CHECKPOINT. A data directory seeded from it therefore starts with those
 * migrations recorded in `tessera_migrations`; migrate() applies only the ones added since.
 *
 * The template is used only when it was made with the PGlite version installed now (a data
 * directory is tied to PGlite's PostgreSQL build); otherwise, or when there is none (a tree compiled
 * with tsc alone), PGlite runs initdb as before.
 */
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../../shared/package-root.js';
import { isErrno } from './data-dir-lock.js';

/** Written beside the template's files (and never copied): what it was made with. */
export const TEMPLATE_STAMP_NAME = 'tessera-template.json';

/** PGlite decides whether a data directory holds a database by this file; it is copied last. */
const MARKER_FILE = 'PG_VERSION';

export interface TemplateStamp {
  /** The @electric-sql/pglite version that ran initdb. */
  readonly pglite: string;
  /** The migrations applied to it, in order. */
  readonly migrations: readonly string[];
}

/** How the data directory came to hold a database. */
export type DataDirOrigin =
  | { readonly kind: 'existing' }
  | { readonly kind: 'template'; readonly files: number; readonly ms: number }
  | { readonly kind: 'initdb'; readonly reason: string };

export function defaultTemplateDir(): string {
  return join(packageRoot(), 'dist', 'embedded-db-template');
}

/** The version of the @electric-sql/pglite package this process loads. */
export function installedPgliteVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.resolve('@electric-sql/pglite')));
  for (;;) {
    const manifest = readJson(join(dir, 'package.json'));
    if (manifest?.['name'] === '@electric-sql/pglite' && typeof manifest['version'] === 'string') return manifest['version'];
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the package.json of @electric-sql/pglite');
    dir = parent;
  }
}

/** The template's stamp, or why it cannot be used with `pgliteVersion`. */
export async function readTemplateStamp(templateDir: string, pgliteVersion: string): Promise<TemplateStamp | string> {
  const text = await readFile(join(templateDir, TEMPLATE_STAMP_NAME), 'utf8').catch((error: unknown) => {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw error;
  });
  if (text === undefined) return `no template at ${templateDir} (npm run build makes it)`;
  const stamp = JSON.parse(text) as Partial<TemplateStamp>;
  if (typeof stamp.pglite !== 'string' || !Array.isArray(stamp.migrations)) return `${TEMPLATE_STAMP_NAME} in ${templateDir} is malformed`;
  if (stamp.pglite !== pgliteVersion) return `the template was made with PGlite ${stamp.pglite}, this is PGlite ${pgliteVersion} (npm run build remakes it)`;
  return { pglite: stamp.pglite, migrations: stamp.migrations };
}

/**
 * Makes `dataDir` hold a database if it holds none: copies the template into it, PG_VERSION last, so
 * that a copy cut short is not taken for a database and is simply done again next time. Resolves to
 * `initdb` (with the reason) when the template cannot be used or `templateDir` is null: PGlite then
 * creates the database.
 */
export async function seedDataDir(dataDir: string, templateDir: string | null, pgliteVersion: string): Promise<DataDirOrigin> {
  if (await exists(join(dataDir, MARKER_FILE))) return { kind: 'existing' };
  if (templateDir === null) return { kind: 'initdb', reason: 'no template asked for' };
  const stamp = await readTemplateStamp(templateDir, pgliteVersion);
  if (typeof stamp === 'string') return { kind: 'initdb', reason: stamp };
  const startedAt = performance.now();
  const files = await copyTree(templateDir, dataDir, (name) => name !== TEMPLATE_STAMP_NAME && name !== MARKER_FILE);
  await copyFile(join(templateDir, MARKER_FILE), join(dataDir, MARKER_FILE));
  return { kind: 'template', files: files + 1, ms: Math.round(performance.now() - startedAt) };
}

/**
 * Copies the files under `from` into `to` (created as needed; existing files are overwritten), all
 * of a folder's entries at once: libuv's thread pool runs four copies at a time, about 5× faster
 * here than fs.cp, which checks each entry in turn. Resolves to the number of files copied.
 */
async function copyTree(from: string, to: string, keepTop: (name: string) => boolean): Promise<number> {
  await mkdir(to, { recursive: true, mode: 0o700 });
  const entries = (await readdir(from, { withFileTypes: true })).filter((entry) => keepTop(entry.name));
  const counts = await Promise.all(
    entries.map(async (entry) => {
      const source = join(from, entry.name);
      const target = join(to, entry.name);
      if (entry.isDirectory()) return copyTree(source, target, () => true);
      await copyFile(source, target);
      return 1;
    }),
  );
  return counts.reduce((sum, n) => sum + n, 0);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return false;
    throw error;
  }
}

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
