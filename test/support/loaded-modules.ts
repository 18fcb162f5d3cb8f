/**
 * What a process loaded, from the URLs module-log.ts recorded: the CLI runs from dist/bundle/
 * (scripts/bundle-cli.mjs), so a file of the bundle stands for the modules esbuild put in it, as its
 * dist/bundle/inputs.json lists them. Every other URL stands for itself.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Maps a logged module URL to the URLs of the modules it holds. */
export type ModuleExpander = (url: string) => string[];

export async function bundleModuleExpander(root: string): Promise<ModuleExpander> {
  const inputs = JSON.parse(await readFile(join(root, 'dist', 'bundle', 'inputs.json'), 'utf8')) as Record<string, string[]>;
  const byUrl = new Map(
    Object.entries(inputs).map(([file, modules]) => [pathToFileURL(join(root, file)).href, modules.map((m) => pathToFileURL(join(root, m)).href)]),
  );
  return (url) => byUrl.get(url) ?? [url];
}
