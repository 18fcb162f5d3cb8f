/** The configuration of `tessera web`: read from the environment once at start-up, validated, frozen. */
import { ConfigError } from '../errors.js';
import { addressVar, bearerTokenVar, intVar, logLevelVar, stringVar, type Env, type LogLevel } from './env.js';
import { isLoopbackAddress } from './loopback.js';

/** The basemap the pages show unless WEB_BASEMAP_URL says otherwise ("none": no basemap). */
export const OPENSTREETMAP_TILES = 'https://tile.openstreetmap.org/{z}/{x}/{y}.png';

export const WEB_VARIABLES = {
  webListen: addressVar('WEB_LISTEN', '127.0.0.1:8080', 'Where `tessera web` serves the web client, its HTTP API and /metrics (host:port).'),
  webToken: bearerTokenVar(
    'WEB_TOKEN',
    'Secret that creating and cancelling requests through `tessera web` need (`Authorization: Bearer …`); reading stays open. Unset: anyone who reaches WEB_LISTEN may submit, so it must then be a loopback address.',
    'Set WEB_TOKEN to a random secret, e.g. the output of `openssl rand -hex 32`, and give it to the people who may submit.',
  ),
  webBasemapUrl: stringVar(
    'WEB_BASEMAP_URL',
    OPENSTREETMAP_TILES,
    'Tile URL template ({z}/{x}/{y}) of the pages\' basemap; `none` for no basemap (the pages work offline either way).',
  ),
  webWorkersSeenS: intVar('WEB_WORKERS_SEEN_S', 300, 1, 86_400, 'The workers page lists the workers seen within this many seconds.'),
  logLevel: logLevelVar,
} as const;

export interface WebConfig {
  readonly webListen: string;
  readonly webToken: string | undefined;
  /** Null: no basemap. */
  readonly webBasemapUrl: string | null;
  readonly webWorkersSeenS: number;
  readonly logLevel: LogLevel;
}

/** Reads and validates the web variables; a reachable WEB_LISTEN without WEB_TOKEN is a ConfigError. */
export function loadWebConfig(env: Env): WebConfig {
  const v = WEB_VARIABLES;
  const basemap = v.webBasemapUrl.read(env);
  const config: WebConfig = Object.freeze({
    webListen: v.webListen.read(env),
    webToken: v.webToken.read(env),
    webBasemapUrl: basemap.toLowerCase() === 'none' ? null : basemap,
    webWorkersSeenS: v.webWorkersSeenS.read(env),
    logLevel: v.logLevel.read(env),
  });
  if (config.webToken === undefined && !isLoopbackAddress(config.webListen)) {
    throw new ConfigError(
      'WEB_LISTEN',
      `${config.webListen} is reachable from other machines, and without WEB_TOKEN anyone there could submit and cancel requests`,
      'Set WEB_TOKEN to a random secret (e.g. `openssl rand -hex 32`), or listen on a loopback address such as 127.0.0.1:8080.',
    );
  }
  return config;
}
