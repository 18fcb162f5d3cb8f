#!/usr/bin/env -S node --single-threaded-gc --initial-old-space-size=64
/**
 * The `tessera` executable. It runs the CLI (main.ts) from dist/bundle/, the bundle that
 * scripts/bundle-cli.mjs makes of the compiled code at build time: one file per lazily loaded part
 * instead of ~170 modules to resolve, read and link, which saves each process about 0.15 s of CPU at
 * start-up (see scripts/bundle-cli.mjs). It runs the same code module by module where there is no
 * bundle (the sources under tsx) or the bundle is older than the compiled modules (tsc ran after the
 * last build), so it never runs stale code.
 */
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = new URL('../bundle/tessera.js', import.meta.url);
const modules = new URL('./main.js', import.meta.url);
const modifiedMs = (url: URL): number | undefined => statSync(fileURLToPath(url), { throwIfNoEntry: false })?.mtimeMs;
const bundledAt = modifiedMs(bundle);
const compiledAt = modifiedMs(modules);
await import(bundledAt !== undefined && (compiledAt === undefined || bundledAt >= compiledAt) ? bundle.href : modules.href);
