/**
 * Reading configuration variables: each variable is declared once with its default, its meaning
 * and a check; a bad value becomes a ConfigError naming the variable and the fix. The README's
 * configuration table (test/unit/readme.test.ts) and the deployment files (cli/role-variables.ts)
 * are checked against the declarations.
 *
 * The checks are a few lines each (numbers in a range, words from a list, patterns): zod did this
 * until 2026-12-02, but loading it cost 56-64 ms of CPU in every process (three per `tessera run`),
 * more than all the rest of the configuration.
 */
import { ConfigError } from '../errors.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface VariableSpec<T> {
  readonly name: string;
  /** Shown in errors and docs; `undefined` means "unset is allowed". */
  readonly defaultText: string | undefined;
  readonly description: string;
  readonly fix: string;
  read(env: Env): T;
}

/** What is wrong with a value, as a check reports it (declare() makes it a ConfigError). */
class ValueProblem extends Error {}

/** Turns a variable's trimmed value (undefined: unset, no default) into T, or throws a ValueProblem. */
type Check<T> = (value: string | undefined) => T;

/** The value, required: `problem` when it is unset (only a variable without a default can be). */
function present(value: string | undefined): string {
  if (value === undefined) throw new ValueProblem('must be set');
  return value;
}

/** The value must match `pattern`, else `problem`. */
const matching =
  (pattern: RegExp, problem: string): Check<string> =>
  (value) => {
    const text = present(value);
    if (!pattern.test(text)) throw new ValueProblem(problem);
    return text;
  };

/** Unset is allowed (undefined), else `check`. */
const optional =
  <T>(check: Check<T>): Check<T | undefined> =>
  (value) =>
    value === undefined ? undefined : check(value);

/** One of `words` (case as written). */
const oneOf =
  <W extends string>(words: readonly W[], problem: string): Check<W> =>
  (value) => {
    const text = present(value);
    if (!(words as readonly string[]).includes(text)) throw new ValueProblem(problem);
    return text as W;
  };

function declare<T>(
  name: string,
  check: Check<T>,
  options: { default?: string; description: string; fix: string; secret?: boolean },
): VariableSpec<T> {
  return {
    name,
    defaultText: options.default,
    description: options.description,
    fix: options.fix,
    read(env: Env): T {
      const raw = env[name];
      const value = raw === undefined || raw.trim() === '' ? options.default : raw.trim();
      try {
        return check(value);
      } catch (error) {
        if (!(error instanceof ValueProblem)) throw error;
        // A secret's value never appears in a message (it would end up in a terminal or a log).
        const shown = value === undefined ? 'it is not set' : options.secret ? `got ${value.length} characters` : `got ${JSON.stringify(value)}`;
        throw new ConfigError(name, `${error.message} (${shown})`, options.fix);
      }
    },
  };
}

/** A number in [min, max] (whole when `whole`), with the default shown in errors and docs. */
function rangeVar(name: string, defaultValue: number, min: number, max: number, description: string, whole: boolean): VariableSpec<number> {
  const kind = whole ? 'a whole number' : 'a number';
  const check: Check<number> = (value) => {
    const number = Number(present(value));
    if (!Number.isFinite(number) || (whole && !Number.isInteger(number))) throw new ValueProblem(`must be ${kind}`);
    if (number < min) throw new ValueProblem(`must be at least ${min}`);
    if (number > max) throw new ValueProblem(`must be at most ${max}`);
    return number;
  };
  return declare(name, check, {
    default: String(defaultValue),
    description,
    fix: `Set ${name} to ${kind} from ${min} to ${max}, or unset it for the default ${defaultValue}.`,
  });
}

/**
 * A variable tessera no longer reads: setting it is a ConfigError saying what replaced it, so an
 * old .env does not silently stop doing what its author meant.
 */
export function checkRetired(env: Env, name: string, problem: string, fix: string): void {
  const raw = env[name];
  if (raw !== undefined && raw.trim() !== '') throw new ConfigError(name, problem, fix);
}

export const intVar = (name: string, defaultValue: number, min: number, max: number, description: string): VariableSpec<number> =>
  rangeVar(name, defaultValue, min, max, description, true);

/** on/off (also true/false, yes/no, 1/0), with the default shown in errors and docs. */
export const switchVar = (name: string, defaultValue: boolean, description: string): VariableSpec<boolean> =>
  declare(
    name,
    (value) => ['on', 'true', 'yes', '1'].includes(oneOf(['on', 'off', 'true', 'false', 'yes', 'no', '1', '0'], 'must be on or off')(value?.toLowerCase())),
    { default: defaultValue ? 'on' : 'off', description, fix: `Set ${name} to on or off, or unset it for the default ${defaultValue ? 'on' : 'off'}.` },
  );

export const stringVar = (name: string, defaultValue: string, description: string): VariableSpec<string> =>
  declare(name, matching(/./, 'must not be empty'), {
    default: defaultValue,
    description,
    fix: `Set ${name} to a non-empty value, or unset it for the default ${JSON.stringify(defaultValue)}.`,
  });

export const optionalStringVar = (name: string, description: string, fix: string): VariableSpec<string | undefined> =>
  declare(name, optional(present), { description, fix });

/**
 * A shared secret sent as `authorization: Bearer <token>`: restricted to RFC 6750 token characters
 * so it travels as is; its value never appears in an error.
 */
export const bearerTokenVar = (name: string, description: string, fix: string): VariableSpec<string | undefined> =>
  declare(
    name,
    optional((value) => {
      const token = present(value);
      if (token.length < 16) throw new ValueProblem('must be at least 16 characters');
      if (token.length > 512) throw new ValueProblem('must be at most 512 characters');
      return matching(/^[A-Za-z0-9._~+/=-]+$/, 'may use only letters, digits and . _ ~ + / = -')(token);
    }),
    { description, fix, secret: true },
  );

/** The shared secret workers present to the master (master and workers read the same variable). */
export const workerTokenVar = bearerTokenVar(
  'WORKER_TOKEN',
  'Shared secret every worker sends with each TileService call (`authorization: Bearer …`); the master refuses calls without it. Unset: the master serves only on a loopback GRPC_LISTEN.',
  'Set WORKER_TOKEN to the same random secret on the master and every worker, e.g. the output of `openssl rand -hex 32`.',
);

/** A path to a PEM file (a certificate, a key or a CA bundle); read when the service starts. */
export const pemFileVar = (name: string, description: string): VariableSpec<string | undefined> =>
  declare(name, optional(present), { description, fix: `Set ${name} to the path of a PEM file, or unset it.` });

export const postgresUrlVar = (name: string, description: string): VariableSpec<string | undefined> =>
  declare(
    name,
    optional(matching(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')),
    {
      description,
      fix: `Set ${name} like postgres://user:password@host:5432/database, or unset it to use the embedded database.`,
    },
  );

/** host:port with a port of 0..65535. */
const hostPort: Check<string> = (value) => {
  const address = matching(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/, 'must be host:port')(value);
  if (Number(address.slice(address.lastIndexOf(':') + 1)) > 65535) throw new ValueProblem('port must be 0..65535');
  return address;
};

/** host:port, with a port from 0 to 65535 (0 = any free port). */
export const addressVar = (name: string, defaultValue: string, description: string): VariableSpec<string> =>
  declare(
    name,
    hostPort,
    { default: defaultValue, description, fix: `Set ${name} to host:port, for example ${defaultValue}.` },
  );

/** host:port as addressVar, or unset (the feature it configures is off). */
export const optionalAddressVar = (name: string, example: string, description: string): VariableSpec<string | undefined> =>
  declare(
    name,
    optional(hostPort),
    { description, fix: `Set ${name} to host:port, for example ${example}, or unset it.` },
  );

/** One of `words`, with the default shown in errors and docs. */
export const wordVar = <W extends string>(name: string, words: readonly W[], defaultValue: W, description: string): VariableSpec<W> =>
  declare<W>(name, oneOf(words, `must be one of ${words.join(', ')}`), {
    default: defaultValue,
    description,
    fix: `Set ${name} to one of ${words.join(', ')}, or unset it for the default ${defaultValue}.`,
  });

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const logLevelVar = declare<LogLevel>('LOG_LEVEL', oneOf(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(', ')}`), {
  default: 'info',
  description: 'Log verbosity (logs are JSON lines on stderr).',
  fix: `Set LOG_LEVEL to one of ${LOG_LEVELS.join(', ')}.`,
});

/** Both ends of the gRPC connection read the same variable. */
export const maxMessageBytesVar = intVar(
  'MAX_MESSAGE_BYTES',
  64 * 1024 * 1024,
  4 * 1024 * 1024,
  1024 * 1024 * 1024,
  'Largest gRPC message either side accepts (grpc-js alone would refuse anything over 4 MB).',
);

export const numberVar = (name: string, defaultValue: number, min: number, max: number, description: string): VariableSpec<number> =>
  rangeVar(name, defaultValue, min, max, description, false);

export const httpUrlVar = (name: string, description: string): VariableSpec<string | undefined> =>
  declare(name, optional(matching(/^https?:\/\/\S+$/, 'must be an http(s) URL')), {
    description,
    fix: `Set ${name} to an http(s) URL, or unset it.`,
  });

/** STAC common names a band layout may use (only some of them feed an index). */
export const LAYOUT_BAND_NAMES = ['blue', 'green', 'red', 'nir', 'swir16', 'swir22'] as const;
export type LayoutBandName = (typeof LAYOUT_BAND_NAMES)[number];
export type BandLayout = Readonly<Partial<Record<LayoutBandName, number>>>;

/** Parses "blue=1,green=2,red=3,nir=4" (1-based band numbers); throws with what is wrong. */
export function parseBandLayout(text: string): BandLayout {
  const layout: Partial<Record<LayoutBandName, number>> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const match = /^([a-z0-9]+)\s*=\s*(\d+)$/i.exec(part);
    const name = match?.[1]?.toLowerCase();
    if (!match || !name) throw new Error(`"${part}" is not NAME=NUMBER`);
    if (!(LAYOUT_BAND_NAMES as readonly string[]).includes(name)) throw new Error(`unknown band "${name}" (use ${LAYOUT_BAND_NAMES.join(', ')})`);
    const band = Number(match[2]);
    if (band < 1) throw new Error(`band numbers start at 1 ("${part}")`);
    layout[name as LayoutBandName] = band;
  }
  if (Object.keys(layout).length === 0) throw new Error('no bands given');
  return layout;
}

export const bandLayoutVar = (name: string, defaultValue: string, description: string): VariableSpec<BandLayout> =>
  declare(
    name,
    (value) => {
      try {
        return parseBandLayout(present(value));
      } catch (error) {
        throw error instanceof ValueProblem ? error : new ValueProblem(error instanceof Error ? error.message : String(error));
      }
    },
    { default: defaultValue, description, fix: `Set ${name} like "${defaultValue}" (STAC band name = 1-based band number).` },
  );
