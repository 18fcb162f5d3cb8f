/**
 * The master's grpc.health.v1 service (shared/proto/health-proto.ts): a status per service name, ''
 * for the server as a whole. Check answers it (NOT_FOUND for a name it does not know); Watch sends it
 * at once and again on every change (SERVICE_UNKNOWN for an unknown name, and the call stays open);
 * List gives them all. What container health checks, load balancers and `tessera health master` ask.
 */
import * as grpc from '@grpc/grpc-js';
import { loadHealthProto, type HealthHandlers, type ServingStatus } from '../../shared/proto/health-proto.js';

/** List refuses to answer beyond this many services, as the protocol allows. */
const LIST_LIMIT = 100;

type Watcher = (status: ServingStatus) => void;

export class HealthService {
  readonly #statuses = new Map<string, ServingStatus>();
  readonly #watchers = new Map<string, Set<Watcher>>();

  constructor(initial: Readonly<Record<string, ServingStatus>>) {
    for (const [service, status] of Object.entries(initial)) this.#statuses.set(service, status);
  }

  setStatus(service: string, status: ServingStatus): void {
    this.#statuses.set(service, status);
    for (const watcher of this.#watchers.get(service) ?? []) watcher(status);
  }

  addTo(server: grpc.Server): void {
    server.addService(loadHealthProto().Health.service, this.#handlers());
  }

  #handlers(): HealthHandlers {
    return {
      Check: (call, callback) => {
        const { service } = call.request;
        const status = this.#statuses.get(service);
        if (status) callback(null, { status });
        else callback({ code: grpc.status.NOT_FOUND, details: `health: no service named "${service}"` });
      },
      Watch: (call) => {
        const { service } = call.request;
        const send: Watcher = (status) => void call.write({ status });
        send(this.#statuses.get(service) ?? 'SERVICE_UNKNOWN');
        const watchers = this.#watchers.get(service) ?? new Set<Watcher>();
        this.#watchers.set(service, watchers.add(send));
        const stop = (): void => {
          watchers.delete(send);
          if (watchers.size === 0) this.#watchers.delete(service);
        };
        call.once('cancelled', stop);
        call.once('close', stop);
      },
      List: (_call, callback) => {
        if (this.#statuses.size > LIST_LIMIT) {
          callback({ code: grpc.status.RESOURCE_EXHAUSTED, details: `health: more than ${LIST_LIMIT} services` });
          return;
        }
        callback(null, { statuses: Object.fromEntries([...this.#statuses].map(([service, status]) => [service, { status }])) });
      },
    };
  }
}
