/**
 * A role's variables read as one object: the declarations (a record of VariableSpecs, such as
 * MASTER_VARIABLES) are the one place a variable, its type and its check are written; the config's
 * type is derived from them, so a new variable needs no second and third mention.
 */
import type { Env, VariableSpec } from './env.js';

export type VariableSet = Readonly<Record<string, VariableSpec<unknown>>>;

/** What each variable of a set reads as. */
export type ValuesOf<S extends VariableSet> = { readonly [K in keyof S]: S[K] extends VariableSpec<infer T> ? T : never };

/** Every variable of `set` read from `env`, in declaration order: the first bad one throws its ConfigError. */
export function readVariables<S extends VariableSet>(set: S, env: Env): ValuesOf<S> {
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(set)) values[key] = spec.read(env);
  // Each key got its own spec's reading: the mapped type says exactly that.
  return values as ValuesOf<S>;
}
