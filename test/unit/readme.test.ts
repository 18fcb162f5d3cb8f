/** The README documents every configuration variable the code reads, and only those. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DATALAKE_VARIABLES } from '../../master/output/datalake-config.js';
import { MASTER_VARIABLES } from '../../shared/config/master-config.js';
import { WEB_VARIABLES } from '../../shared/config/web-config.js';
import { WORKER_VARIABLES } from '../../shared/config/worker-config.js';
import { packageRoot } from '../../shared/package-root.js';

test('the README configuration table matches the declared variables and their defaults', () => {
  const readme = readFileSync(join(packageRoot(), 'README.md'), 'utf8');
  const documented = new Map<string, string>();
  for (const match of readme.matchAll(/^\| `([A-Z_]+)` \| ([^|]+) \|/gm)) documented.set(match[1] as string, (match[2] as string).trim());
  const declared = [...Object.values(MASTER_VARIABLES), ...Object.values(WORKER_VARIABLES), ...Object.values(WEB_VARIABLES), ...Object.values(DATALAKE_VARIABLES)];
  for (const variable of declared) {
    const shown = documented.get(variable.name);
    assert.ok(shown !== undefined, `${variable.name} is not in the README's configuration table`);
    const expected = variable.defaultText === undefined ? '(unset)' : `\`${variable.defaultText}\``;
    assert.equal(shown, expected, `README default of ${variable.name}`);
  }
  const names = new Set(declared.map((v) => v.name));
  for (const name of documented.keys()) assert.ok(names.has(name), `the README documents ${name}, which the code does not read`);
});
