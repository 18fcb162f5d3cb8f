// tsc writes dist/cli/bin.js as a new file without the exec bit, and npm links `tessera` to it
// only at install time: without this, `npx tessera` after `npm run build` fails with
// "sh: 1: tessera: Permission denied".
import { chmodSync } from 'node:fs';

chmodSync('dist/cli/bin.js', 0o755);
