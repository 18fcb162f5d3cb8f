/**
 * Which database `submit` and `status` talk to: --database-url, else DATABASE_URL, else the
 * embedded database a local `tessera master` exposes on 127.0.0.1:EMBEDDED_DB_PORT.
 */
import { MASTER_VARIABLES } from '../shared/config/master-config.js';
import type { Env } from '../shared/config/env.js';
import { embeddedDatabaseUrl } from '../master/db/embedded-postgres.js';

export function clientDatabaseUrl(env: Env, flag: string | undefined): string {
  if (flag) return flag;
  const url = MASTER_VARIABLES.databaseUrl.read(env);
  if (url) return url;
  return embeddedDatabaseUrl('127.0.0.1', MASTER_VARIABLES.embeddedDbPort.read(env));
}
