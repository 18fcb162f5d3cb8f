/**
 * docker-compose.yml keeps the promises the README makes of it: every variable has a default in the
 * file and is explained in .env.example; the worker service can scale; every service restarts, and
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

test('every ${VARIABLE} has a default in the file and a line in .env.example', () => {
  const example = readFileSync(join(root, '.env.example'), 'utf8');
  const uses = [...text.matchAll(/(?<!\$)\$\{([A-Z0-9_]+)([^}]*)\}/g)]; // $${X} is for the container's shell
  assert.ok(uses.length > 10);
  for (const [whole, name, rest] of uses) {
    assert.ok(rest?.startsWith(':-'), `${whole} has no default`);
    assert.match(example, new RegExp(`^${name}=`, 'm'), `${name} is not in .env.example`);
  }
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

/** Read by the master image's entrypoint (scripts/master-entrypoint.sh), not by tessera. */
const ENTRYPOINT_VARIABLES = new Set(['TESSERA_USER']);

test('the master and worker environments pass only variables tessera reads, with tessera\'s own defaults', async () => {
  const { MASTER_VARIABLES } = await import('../../shared/config/master-config.js');
  const { WORKER_VARIABLES } = await import('../../shared/config/worker-config.js');
  const { DATALAKE_VARIABLES } = await import('../../master/output/datalake-config.js');
  const declared = new Map([...Object.values(MASTER_VARIABLES), ...Object.values(WORKER_VARIABLES), ...Object.values(DATALAKE_VARIABLES)].map((v) => [v.name, v.defaultText]));
  for (const name of ['master', 'worker']) {
    const environment = (doc.services[name]?.['environment'] ?? {}) as Record<string, unknown>;
    for (const [variable, value] of Object.entries(environment)) {
      if (ENTRYPOINT_VARIABLES.has(variable)) continue;
      assert.ok(declared.has(variable), `${name} sets ${variable}, which tessera does not read (a retired name stops the master)`);
      const fallback = /^\$\{([A-Z0-9_]+):-([^}]*)\}$/.exec(String(value));
      const defaultText = declared.get(variable);
      if (fallback && fallback[1] === variable && defaultText !== undefined) assert.equal(fallback[2], defaultText, `${name}: default of ${variable}`);
    }
  }
});
