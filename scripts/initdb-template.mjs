// The first half of the embedded database's template (see master/db/embedded-template.ts): PGlite's
// initdb into the folder given, which must not exist yet. Plain JavaScript, so that scripts/build.mjs
// can run it while tsc compiles; master/db/make-template.ts then migrates it with the compiled code.
import { existsSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: node scripts/initdb-template.mjs <new folder>');
if (existsSync(dataDir)) throw new Error(`${dataDir} already exists`);
const db = await PGlite.create({ dataDir });
await db.close();
