/**
 * Reading configuration variables: each variable is declared once with its default, its meaning
 * and a zod schema; a bad value becomes a ConfigError naming the variable and the fix. The
 * declarations double as the source of the README's configuration table (`tessera config`).
 */
import { z } from 'zod';
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

function declare<T>(
  name: string,
  schema: z.ZodType<T>,
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
      const parsed = schema.safeParse(value);
      if (!parsed.success) {
        const problem = parsed.error.issues[0]?.message ?? 'invalid value';
        // A secret's value never appears in a message (it would end up in a terminal or a log).
        const shown = value === undefined ? 'it is not set' : options.secret ? `got ${value.length} characters` : `got ${JSON.stringify(value)}`;
        throw new ConfigError(name, `${problem} (${shown})`, options.fix);
      }
      return parsed.data;
    },
  };
}

/** A number in [min, max] (whole when `whole`), with the default shown in errors and docs. */
function rangeVar(name: string, defaultValue: number, min: number, max: number, description: string, whole: boolean): VariableSpec<number> {
  const kind = whole ? 'a whole number' : 'a number';
  const number = z.coerce.number({ error: `must be ${kind}` });
  return declare(name, (whole ? number.int(`must be ${kind}`) : number).min(min, `must be at least ${min}`).max(max, `must be at most ${max}`), {
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
    z
      .string()
      .transform((text) => text.toLowerCase())
      .pipe(z.enum(['on', 'off', 'true', 'false', 'yes', 'no', '1', '0'], 'must be on or off'))
      .transform((word) => ['on', 'true', 'yes', '1'].includes(word)),
    { default: defaultValue ? 'on' : 'off', description, fix: `Set ${name} to on or off, or unset it for the default ${defaultValue ? 'on' : 'off'}.` },
  );

export const stringVar = (name: string, defaultValue: string, description: string): VariableSpec<string> =>
  declare(name, z.string().min(1, 'must not be empty'), {
    default: defaultValue,
    description,
    fix: `Set ${name} to a non-empty value, or unset it for the default ${JSON.stringify(defaultValue)}.`,
  });

export const optionalStringVar = (name: string, description: string, fix: string): VariableSpec<string | undefined> =>
  declare(name, z.string().min(1).optional(), { description, fix });

/**
 * A shared secret sent as `authorization: Bearer <token>`: restricted to RFC 6750 token characters
 * so it travels as is; its value never appears in an error.
 */
export const bearerTokenVar = (name: string, description: string, fix: string): VariableSpec<string | undefined> =>
  declare(
    name,
    z
      .string()
      .min(16, 'must be at least 16 characters')
      .max(512, 'must be at most 512 characters')
      .regex(/^[A-Za-z0-9._~+/=-]+$/, 'may use only letters, digits and . _ ~ + / = -')
      .optional(),
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
  declare(name, z.string().min(1).optional(), { description, fix: `Set ${name} to the path of a PEM file, or unset it.` });

export const postgresUrlVar = (name: string, description: string): VariableSpec<string | undefined> =>
  declare(
    name,
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .optional(),
    {
      description,
      fix: `Set ${name} like postgres://user:password@host:5432/database, or unset it to use the embedded database.`,
    },
  );

/** host:port, with a port from 0 to 65535 (0 = any free port). */
export const addressVar = (name: string, defaultValue: string, description: string): VariableSpec<string> =>
  declare(
    name,
    z.string().regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/, 'must be host:port').refine((v) => {
      const port = Number(v.slice(v.lastIndexOf(':') + 1));
      return port >= 0 && port <= 65535;
    }, 'port must be 0..65535'),
    { default: defaultValue, description, fix: `Set ${name} to host:port, for example ${defaultValue}.` },
  );

/** host:port as addressVar, or unset (the feature it configures is off). */
export const optionalAddressVar = (name: string, example: string, description: string): VariableSpec<string | undefined> =>
  declare(
    name,
    z
      .string()
      .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/, 'must be host:port')
      .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'port must be 0..65535')
      .optional(),
    { description, fix: `Set ${name} to host:port, for example ${example}, or unset it.` },
  );

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const logLevelVar = declare<LogLevel>('LOG_LEVEL', z.enum(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(', ')}`), {
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
  declare(name, z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) URL').optional(), {
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
    z.string().transform((text, context) => {
      try {
        return parseBandLayout(text);
      } catch (error) {
        context.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
        return z.NEVER;
      }
    }),
    { default: defaultValue, description, fix: `Set ${name} like "${defaultValue}" (STAC band name = 1-based band number).` },
  );
