/**
 * The second half of the embedded database's template (embedded-template.ts), run by
 * scripts/build.mjs once tsc is done: `node dist/master/db/make-template.js <initdb folder> <template>`.
 * Opens the initdb'd folder the way a master would, applies the migrations with migrate(), writes a
 * CHECKPOINT, and moves the folder to <template> with its stamp. The replaced template, if any, goes.
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectDatabase } from './database.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { installedPgliteVersion, TEMPLATE_STAMP_NAME, type TemplateStamp } from './embedded-template.js';
import { migrate } from './migrate.js';

export async function makeTemplate(initdbDir: string, templateDir: string): Promise<TemplateStamp> {
  const server = await startEmbeddedPostgres({ dataDir: initdbDir, port: 0, templateDir: null });
  let migrations: string[];
  try {
    const db = connectDatabase({ url: server.url, maxConnections: 1, notifications: false });
    try {
      migrations = await migrate(db);
      await db.query('CHECKPOINT');
    } finally {
      await db.close();
    }
  } finally {
    await server.stop();
  }
  const stamp: TemplateStamp = { pglite: installedPgliteVersion(), migrations };
  await writeFile(join(initdbDir, TEMPLATE_STAMP_NAME), `${JSON.stringify(stamp, null, 2)}\n`);
  await rm(templateDir, { recursive: true, force: true });
  await rename(initdbDir, templateDir);
  return stamp;
}

const [initdbDir, templateDir] = process.argv.slice(2);
if (initdbDir === undefined || templateDir === undefined) {
  process.stderr.write('usage: node dist/master/db/make-template.js <initdb folder> <template folder>\n');
  process.exitCode = 2;
} else {
  await makeTemplate(initdbDir, templateDir);
}
