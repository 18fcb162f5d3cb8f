/**
 * docker-compose.yml keeps the promises the README makes of it: every variable but the worker token
 * has a default in the file and is explained in .env.example; the token has none, so a fresh
 * `up -d` never serves an open port; the worker service can scale; every service restarts, and
 * the master's grace period outlasts its own shutdown timeout.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { packageRoot } from '../../shared/package-root.js';

const root = packageRoot();
const text = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
const doc = parse(text) as { services: Record<string, Record<string, unknown>> };

/** Variables docker-compose must refuse to start without (`${NAME:?message}`). */
const REQUIRED = new Set(['WORKER_TOKEN', 'WEB_TOKEN']);

test('every ${VARIABLE} but the required ones has a default in the file, and all have a line in .env.example', () => {
  const example = readFileSync(join(root, '.env.example'), 'utf8');
  const uses = [...text.matchAll(/(?<!\$)\$\{([A-Z0-9_]+)([^}]*)\}/g)]; // $${X} is for the container's shell
  assert.ok(uses.length > 10);
  for (const [whole, name, rest] of uses) {
    assert.ok(name !== undefined);
    if (REQUIRED.has(name)) assert.ok(rest?.startsWith(':?'), `${whole} must be required (:?)`);
    else assert.ok(rest?.startsWith(':-'), `${whole} has no default`);
    assert.match(example, new RegExp(`^${name}=`, 'm'), `${name} is not in .env.example`);
  }
});

test('a fresh up -d is never open: master and worker get WORKER_TOKEN from a required variable whose message says how to make one', () => {
  for (const name of ['master', 'worker']) {
    const environment = (doc.services[name]?.['environment'] ?? {}) as Record<string, unknown>;
    const value = String(environment['WORKER_TOKEN']);
    assert.match(value, /^\$\{WORKER_TOKEN:\?[^}]+\}$/, `${name}: WORKER_TOKEN`);
    assert.match(value, /openssl rand -hex 32/, `${name}: the message says how to make a token`);
    assert.match(value, /\.env/, `${name}: the message says where to put it`);
  }
  // .env.example leaves it empty: a copied .env still fails until a token is put in.
  assert.match(readFileSync(join(root, '.env.example'), 'utf8'), /^WORKER_TOKEN=$/m);
});

test('TLS: the master gets its certificate variables, master and worker the client ones, and both mount ./certs read-only', () => {
  const environment = (name: string): Record<string, unknown> => (doc.services[name]?.['environment'] ?? {}) as Record<string, unknown>;
  for (const variable of ['GRPC_TLS_CERT', 'GRPC_TLS_KEY', 'GRPC_TLS_CA']) assert.equal(environment('master')[variable], `\${${variable}:-}`);
  for (const name of ['master', 'worker']) {
    for (const variable of ['MASTER_TLS_CA', 'WORKER_TLS_CERT', 'WORKER_TLS_KEY']) assert.equal(environment(name)[variable], `\${${variable}:-}`, `${name} ${variable}`);
    assert.ok((doc.services[name]?.['volumes'] as string[] | undefined)?.includes('./certs:/certs:ro'), `${name} mounts ./certs`);
  }
});

test('the web service: WEB_TOKEN required with a message saying how to make one, the same database, output read-only, its own health check', () => {
  const web = doc.services['web'] as {
    environment: Record<string, string>;
    volumes: string[];
    ports: string[];
    command: string[];
    depends_on: Record<string, { condition: string }>;
    healthcheck: { test: string[] };
  };
  assert.ok(web, 'docker-compose.yml has a web service');
  assert.match(web.environment['WEB_TOKEN'] ?? '', /^\$\{WEB_TOKEN:\?[^}]*openssl rand -hex 32[^}]*\.env[^}]*\}$/);
  assert.match(readFileSync(join(root, '.env.example'), 'utf8'), /^WEB_TOKEN=$/m);
  const master = doc.services['master'] as { environment: Record<string, string> };
  assert.equal(web.environment['DATABASE_URL'], master.environment['DATABASE_URL'], 'the masters\' database');
  assert.deepEqual(web.command, ['web']);
  assert.ok(web.volumes.includes('./output:/data/output:ro'));
  assert.equal(web.ports.length, 1);
  assert.equal(web.depends_on['master']?.condition, 'service_healthy', 'the master has migrated the database');
  assert.match(web.healthcheck.test.join(' '), /\/api\/config/, 'not the master image\'s gRPC health check');
});

test('the worker scales: no container_name and no host ports', () => {
  const worker = doc.services['worker'];
  assert.ok(worker);
  assert.equal(worker['container_name'], undefined);
  assert.equal(worker['ports'], undefined);
});

test('every service restarts unless stopped; master and worker get a grace period longer than the master\'s shutdown timeout', () => {
  for (const [name, service] of Object.entries(doc.services)) assert.equal(service['restart'], 'unless-stopped', name);
  const seconds = (value: unknown): number => Number(/:-(\d+)s\}/.exec(String(value))?.[1]);
  const shutdownMs = Number(/SHUTDOWN_TIMEOUT_MS:-(\d+)/.exec(text)?.[1]);
  for (const name of ['master', 'worker']) {
    assert.ok(seconds(doc.services[name]?.['stop_grace_period']) * 1000 > shutdownMs, `${name} stop_grace_period`);
  }
});

test('the master waits for a healthy db, mounts input read-only and output, and publishes its gRPC port', () => {
  const master = doc.services['master'] as { depends_on: Record<string, { condition: string }>; volumes: string[]; ports: string[] };
  assert.equal(master.depends_on['db']?.condition, 'service_healthy');
  assert.ok(master.volumes.includes('./input:/data/input:ro'));
  assert.ok(master.volumes.includes('./output:/data/output'));
  assert.equal(master.ports.length, 1);
});

const ROLE_OF_SERVICE = { master: 'master', worker: 'worker', web: 'web' } as const;

test('the master, worker and web environments pass only variables their role reads, with tessera\'s own defaults', async () => {
  const { MASTER_IMAGE_VARIABLES, ROLE_VARIABLES, declaredDefaults } = await import('../../cli/role-variables.js');
  const declared = declaredDefaults();
  for (const [name, role] of Object.entries(ROLE_OF_SERVICE)) {
    const environment = (doc.services[name]?.['environment'] ?? {}) as Record<string, unknown>;
    for (const [variable, value] of Object.entries(environment)) {
      if (name === 'master' && MASTER_IMAGE_VARIABLES.has(variable)) continue;
      assert.ok(ROLE_VARIABLES[role].has(variable), `${name} sets ${variable}, which tessera ${role} does not read (a retired name stops the master)`);
      const fallback = /^\$\{([A-Z0-9_]+):-([^}]*)\}$/.exec(String(value));
      const defaultText = declared.get(variable);
      // An empty fallback leaves the default to tessera (it reads an empty variable as unset): used
      // where the default cannot be written inside ${…}, e.g. WEB_BASEMAP_URL's {z}/{x}/{y}.
      if (fallback && fallback[1] === variable && fallback[2] !== '' && defaultText !== undefined) assert.equal(fallback[2], defaultText, `${name}: default of ${variable}`);
    }
  }
});
