/**
 * Brings the schema up to date: applies sql/migrations/*.sql in name order, each exactly once, each in
 * its own transaction, recorded in `tessera_migrations`. A transaction-level advisory lock serialises
 * masters that start together, so only one of them applies a given file; running it again is a no-op.
 * The names already recorded are read first, without the lock: on the usual start, with nothing to
 * apply, that is two queries instead of five per file (on the embedded database 20–60 ms -> a few).
 * A file not recorded then is checked again under the lock before it is applied.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../../shared/package-root.js';
import type { Database, Queryable } from './database.js';

/** Advisory lock key shared by every tessera master (any constant would do; this one is greppable). */
const MIGRATION_LOCK_SQL = `SELECT pg_advisory_xact_lock(hashtext('tessera:migrate'))`;

const CREATE_MIGRATIONS_TABLE_SQL = `
  CREATE TABLE IF NOT EXISTS tessera_migrations (
    name       text        PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`;

export function defaultMigrationsDir(): string {
  return join(packageRoot(), 'sql', 'migrations');
}

/** Applies the pending migrations; resolves to the names of the files it applied (empty when up to date). */
export async function migrate(db: Database, migrationsDir: string = defaultMigrationsDir()): Promise<string[]> {
  const files = (await readdir(migrationsDir)).filter((name) => name.endsWith('.sql')).sort();
  const recorded = await recordedMigrations(db);
  const applied: string[] = [];
  for (const name of files.filter((file) => !recorded.has(file))) {
    const sql = await readFile(join(migrationsDir, name), 'utf8');
    const didApply = await db.transaction(async (tx) => {
      await lockAndPrepare(tx);
      const done = await tx.query('SELECT 1 FROM tessera_migrations WHERE name = $1', [name]);
      if (done.rowCount > 0) return false;
      try {
        await tx.query(sql); // no parameters: simple protocol, so a file may hold many statements
      } catch (error) {
        throw new Error(`migration ${name} failed: ${error instanceof Error ? error.message : String(error)}`, {
          cause: error,
        });
      }
      await tx.query('INSERT INTO tessera_migrations (name) VALUES ($1)', [name]);
      return true;
    });
    if (didApply) applied.push(name);
  }
  return applied;
}

/** The names in `tessera_migrations`; none when the table does not exist yet. */
async function recordedMigrations(db: Queryable): Promise<Set<string>> {
  const table = await db.query<{ present: boolean }>(`SELECT to_regclass('tessera_migrations') IS NOT NULL AS present`);
  if (table.rows[0]?.present !== true) return new Set();
  const { rows } = await db.query<{ name: string }>('SELECT name FROM tessera_migrations');
  return new Set(rows.map((row) => row.name));
}

async function lockAndPrepare(tx: Queryable): Promise<void> {
  await tx.query(MIGRATION_LOCK_SQL);
  await tx.query(CREATE_MIGRATIONS_TABLE_SQL);
}
