#!/usr/bin/env -S node --single-threaded-gc --initial-old-space-size=64
/**
 * The `tessera` executable. It runs the CLI (main.ts) from dist/bundle/, the bundle that
 * scripts/bundle-cli.mjs makes of the compiled code at build time: one file per lazily loaded part
 * instead of ~170 modules to resolve, read and link, which saves each process about 0.15 s of CPU at
 * start-up (see scripts/bundle-cli.mjs). Where there is no bundle (the sources run through tsx, or a
 * tree compiled by tsc alone) it runs the same code module by module.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = new URL('../bundle/tessera.js', import.meta.url);
await import(existsSync(fileURLToPath(bundle)) ? bundle.href : './main.js');
