/**
 * Which environment variables each process reads, by role: the single list deployment files
 * (docker-compose.yml, deploy/kubernetes/) are checked against, so a misspelt or retired name in
 * them is caught by a test rather than ignored (or refused) at start-up. Built from the
 * declarations themselves, never retyped.
 */
import { DATALAKE_VARIABLES } from '../master/output/datalake-config.js';
import { MASTER_VARIABLES } from '../shared/config/master-config.js';
import { WEB_VARIABLES } from '../shared/config/web-config.js';
import type { VariableSet } from '../shared/config/variable-set.js';
import { WORKER_VARIABLES } from '../shared/config/worker-config.js';

export type Role = 'master' | 'worker' | 'web';

const names = (...groups: readonly VariableSet[]): string[] => groups.flatMap((group) => Object.values(group).map((v) => v.name));

/** What `tessera health master` reads besides its flags (it connects the way a worker does). */
const CLIENT_TLS = [WORKER_VARIABLES.masterTlsCa, WORKER_VARIABLES.workerTlsCert, WORKER_VARIABLES.workerTlsKey].map((v) => v.name);

/** What `tessera web` reads: its own variables, where the database is, and the request defaults it checks with. */
const WEB_EXTRA = [MASTER_VARIABLES.databaseUrl, MASTER_VARIABLES.embeddedDbPort, MASTER_VARIABLES.earthdailyBands].map((v) => v.name);

/** Variables tessera reads, per role: `tessera master` (and its health check), `tessera worker`, `tessera web`. */
export const ROLE_VARIABLES: Readonly<Record<Role, ReadonlySet<string>>> = {
  master: new Set([...names(MASTER_VARIABLES, DATALAKE_VARIABLES), ...CLIENT_TLS]),
  worker: new Set(names(WORKER_VARIABLES)),
  web: new Set([...names(WEB_VARIABLES), ...WEB_EXTRA]),
};

/** Read by the master image's entrypoint (scripts/master-entrypoint.sh), not by tessera. */
export const MASTER_IMAGE_VARIABLES: ReadonlySet<string> = new Set(['TESSERA_USER']);

/** Every variable any role reads, with its default as the README shows it (undefined: unset). */
export function declaredDefaults(): ReadonlyMap<string, string | undefined> {
  const all = [...Object.values(MASTER_VARIABLES), ...Object.values(WORKER_VARIABLES), ...Object.values(WEB_VARIABLES), ...Object.values(DATALAKE_VARIABLES)];
  return new Map(all.map((v) => [v.name, v.defaultText]));
}
