/**
 * The request routes of the HTTP API: list (paged), create, one request, cancel. Reading is open;
 * creating and cancelling pass `authorize` (WEB_TOKEN). A request is checked by the request rules
 * before it is inserted, so a bad one answers 400 with the message its row would have been given.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RequestStore } from '../../master/store/request-store.js';
import { InvalidRequestError } from '../../shared/errors.js';
import { checkNewRequest, type ClientRequestDefaults } from '../../shared/request/check-request.js';
import { REQUEST_STATUSES, type RequestStatus } from '../../shared/types.js';
import type { AuthVerdict } from './bearer-auth.js';
import { requestFromBody } from './request-body.js';
import { listOutputFiles } from './request-files.js';
import { requestJson } from './request-json.js';

export interface RequestRoutesOptions {
  readonly store: RequestStore;
  readonly defaults: ClientRequestDefaults;
  readonly authorize: (authorization: string | undefined) => AuthVerdict;
}

const MAX_PAGE = 200;

interface ListQuery {
  status?: string;
  limit?: string;
  before?: string;
}

/** ?status=&limit=&before= → a list query; an InvalidRequestError naming a bad parameter. */
function listQuery(query: ListQuery): { status?: RequestStatus; limit: number; before?: string } {
  const { status, limit = '20', before } = query;
  if (status !== undefined && status !== '' && !(REQUEST_STATUSES as readonly string[]).includes(status)) {
    throw new InvalidRequestError(`status must be one of ${REQUEST_STATUSES.join(', ')}, not "${status}"`);
  }
  const size = Number(limit);
  if (!/^[0-9]+$/.test(limit) || size < 1 || size > MAX_PAGE) throw new InvalidRequestError(`limit must be a whole number from 1 to ${MAX_PAGE}, not "${limit}"`);
  if (before !== undefined && before !== '' && !/^[0-9]{1,18}$/.test(before)) throw new InvalidRequestError(`before must be a request id, not "${before}"`);
  return {
    limit: size,
    ...(status ? { status: status as RequestStatus } : {}),
    ...(before ? { before } : {}),
  };
}

export function registerRequestRoutes(app: FastifyInstance, options: RequestRoutesOptions): void {
  const { store, defaults, authorize } = options;

  /** Answers 401 and returns false unless the caller may change things. */
  const allowed = (request: FastifyRequest, reply: FastifyReply): boolean => {
    const verdict = authorize(request.headers.authorization);
    if (!verdict.ok) void reply.code(401).header('www-authenticate', 'Bearer').send({ error: verdict.message });
    return verdict.ok;
  };

  app.get<{ Querystring: ListQuery }>('/api/requests', async (request) => {
    const query = listQuery(request.query);
    const rows = await store.list(query);
    const last = rows.at(-1);
    // The next page, when this one is full: the same query before its last id.
    return { requests: rows.map((row) => requestJson(row)), next_before: rows.length === query.limit && last ? last.id : null };
  });

  app.post('/api/requests', async (request, reply) => {
    if (!allowed(request, reply)) return reply;
    const newRequest = requestFromBody(request.body);
    checkNewRequest(newRequest, defaults);
    const id = await store.insert(newRequest);
    return reply.code(201).header('location', `/api/requests/${id}`).send({ id });
  });

  app.get<{ Params: { id: string } }>('/api/requests/:id', async (request, reply) => {
    const row = await store.get(request.params.id);
    if (row === null) return reply.code(404).send({ error: `no request ${request.params.id}` });
    return requestJson(row, await listOutputFiles(row.outputDir));
  });

  app.post<{ Params: { id: string } }>('/api/requests/:id/cancel', async (request, reply) => {
    if (!allowed(request, reply)) return reply;
    const { id } = request.params;
    const outcome = await store.cancel(id);
    if (outcome === 'not-found') return reply.code(404).send({ error: `no request ${id}` });
    const row = await store.get(id);
    if (outcome === 'finished') {
      return reply.code(409).send({ error: `request ${id} has ended already (${row?.status ?? 'gone'}); only a pending or running request can be cancelled` });
    }
    return row === null ? { id, status: 'cancelled' } : requestJson(row);
  });
}
