/** The module hooks of module-log.ts: they run on the loader thread and log each resolved URL. */
import { appendFileSync } from 'node:fs';
import type { ResolveHook } from 'node:module';

const log = process.env['TESSERA_MODULE_LOG'];

export const resolve: ResolveHook = async (specifier, context, nextResolve) => {
  const resolved = await nextResolve(specifier, context);
  if (log) appendFileSync(log, `${process.pid} ${resolved.url}\n`);
  return resolved;
};
