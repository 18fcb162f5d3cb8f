import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding tessera's package.json, found by walking up from this module: the same answer
 * whether the code runs from the TypeScript sources (tsx) or from the compiled `dist/` tree.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'proto'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('tessera: cannot find the package root (package.json beside proto/)');
    dir = parent;
  }
}
