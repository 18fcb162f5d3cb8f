/**
 * deploy/kubernetes/ renders (test/support/kustomize.ts stands in for `kustomize build`) into
 * objects that the Kubernetes and KEDA schemas accept, and that keep the promises the README makes:
 * only variables tessera reads, probes that call real tessera commands, Secrets and files that
 * exist, resources above the measured peaks, grace periods longer than a tile, several masters on
 * one ReadWriteMany volume, budgets for both Deployments and a ScaledObject that can reach zero.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { MASTER_IMAGE_VARIABLES, ROLE_VARIABLES, declaredDefaults, type Role } from '../../cli/role-variables.js';
import { packageRoot } from '../../shared/package-root.js';
import { cliCallProblems } from '../support/cli-commands.js';
import { loadSchemaValidator, type SchemaValidator } from '../support/kube-schemas.js';
import { containersOf, loadYamlObjects, podSpecOf, renderKustomization, type KubeObject } from '../support/kustomize.js';

const dir = join(packageRoot(), 'deploy', 'kubernetes');
const rendered = renderKustomization(dir);
const objects = rendered.map((r) => r.object);
const secrets = loadYamlObjects(join(dir, 'secrets.example.yaml'));

type Container = { name: string; image: string; command?: string[]; args?: string[]; env?: Array<Record<string, unknown>>; [field: string]: unknown };
type EnvEntry = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; fieldRef?: unknown } };

const find = (kind: string, name: string): KubeObject => {
  const object = objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(object, `no ${kind} ${name}`);
  return object;
};
const containers = (object: KubeObject): Container[] => containersOf(object) as Container[];
const envOf = (container: Container): EnvEntry[] => (container.env ?? []) as EnvEntry[];
const envValue = (container: Container, name: string): string | undefined => envOf(container).find((e) => e.name === name)?.value;
/** The tessera command a container runs: its command after "tessera", else the image's entrypoint (tessera) with its args. */
const roleOf = (container: Container): Role => {
  const words = container.command ? container.command.slice(1) : (container.args ?? []);
  assert.ok(['master', 'worker', 'web'].includes(words[0] ?? ''), `${container.name} runs ${words.join(' ')}`);
  return words[0] as Role;
};
const bytes = (quantity: string): number => {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|k|M|G)?$/.exec(quantity);
  assert.ok(match, `memory quantity ${quantity}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, k: 1e3, M: 1e6, G: 1e9 }[match[2] ?? ''] ?? 1;
  return Number(match[1]) * unit;
};
const millicores = (quantity: string): number => (quantity.endsWith('m') ? Number(quantity.slice(0, -1)) : Number(quantity) * 1000);
const portOf = (address: string | undefined): number => Number(address?.slice(address.lastIndexOf(':') + 1));

describe('deploy/kubernetes', () => {
  let schemas: SchemaValidator;
  before(async () => {
    schemas = await loadSchemaValidator();
  });

  test('every object, and every Secret of secrets.example.yaml, is valid against the Kubernetes / KEDA schema of its kind', () => {
    assert.ok(objects.length >= 9, `${objects.length} objects`);
    for (const { file, object } of [...rendered, ...secrets.map((object) => ({ file: 'secrets.example.yaml', object }))]) {
      assert.doesNotThrow(() => schemas.validate(object), `${file}: ${object.kind} ${object.metadata?.name}`);
    }
    const kinds = new Set(objects.map((o) => o.kind));
    for (const kind of ['Deployment', 'Service', 'PodDisruptionBudget', 'PersistentVolumeClaim', 'ScaledObject', 'TriggerAuthentication']) assert.ok(kinds.has(kind), kind);
    // The kustomization never applies a Secret: no placeholder token or key reaches a cluster.
    assert.ok(!kinds.has('Secret'));
    for (const object of objects) if (object.kind !== 'Namespace') assert.equal(object.metadata.namespace, 'tessera', `${object.kind} ${object.metadata.name}`);
  });

  test('a schema error is caught (the validators are really in use)', () => {
    const broken = structuredClone(find('ScaledObject', 'tessera-worker')) as KubeObject & { spec: Record<string, unknown> };
    broken.spec['minReplicaCount'] = 'none';
    assert.throws(() => schemas.validate(broken), /minReplicaCount/);
    assert.throws(() => schemas.validate({ apiVersion: 'example.com/v1', kind: 'Nothing', metadata: { name: 'x' } }), /no schema/);
  });

  test('every environment variable a container sets is one its role reads', () => {
    const declared = declaredDefaults();
    let checked = 0;
    for (const object of objects) {
      for (const container of containers(object)) {
        const role = roleOf(container);
        assert.equal(container['envFrom'], undefined, 'variables are listed one by one, so this test sees them all');
        for (const entry of envOf(container)) {
          const allowed = ROLE_VARIABLES[role].has(entry.name) || (role === 'master' && MASTER_IMAGE_VARIABLES.has(entry.name));
          assert.ok(allowed, `${object.metadata.name}/${container.name} sets ${entry.name}, which tessera ${role} does not read`);
          assert.ok(declared.has(entry.name) || MASTER_IMAGE_VARIABLES.has(entry.name));
          checked += 1;
        }
      }
    }
    assert.ok(checked > 20, `${checked} variables`);
  });

  test('the exec probes call tessera commands and options that exist; the web container\'s probe a route the web server serves', () => {
    let probes = 0;
    for (const object of objects) {
      for (const container of containers(object)) {
        for (const kind of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
          const probe = container[kind] as { exec?: { command: string[] }; httpGet?: { path: string } } | undefined;
          if (!probe) continue;
          probes += 1;
          if (probe.exec) {
            assert.deepEqual(cliCallProblems(probe.exec.command), [], `${container.name} ${kind}`);
            assert.equal(probe.exec.command[1], 'health', `${container.name} ${kind} uses tessera health`);
            assert.equal(probe.exec.command[2], roleOf(container), `${container.name} ${kind} checks its own role`);
          } else {
            assert.equal(roleOf(container), 'web', `${container.name} ${kind}: only the web container probes over HTTP`);
            assert.equal(probe.httpGet?.path, '/api/config');
          }
        }
      }
    }
    assert.ok(probes >= 6, `${probes} probes`);
    // The checker itself catches what it must.
    assert.notDeepEqual(cliCallProblems(['tessera', 'health', 'mastr']), []);
    assert.notDeepEqual(cliCallProblems(['tessera', 'health', 'worker', '--max-age', '1']), []);
    assert.notDeepEqual(cliCallProblems(['tessera', 'health']), []);
  });

  test('every Secret reference names a Secret and key of secrets.example.yaml; files named by variables are keys of a mounted Secret', () => {
    const keys = new Map(secrets.map((s) => [s.metadata.name, new Set(Object.keys((s['stringData'] ?? {}) as Record<string, string>))]));
    const trigger = find('TriggerAuthentication', 'tessera-database') as KubeObject & { spec: { secretTargetRef: Array<{ name: string; key: string }> } };
    for (const ref of trigger.spec.secretTargetRef) assert.ok(keys.get(ref.name)?.has(ref.key), `TriggerAuthentication: ${ref.name}/${ref.key}`);
    for (const object of objects) {
      const pod = podSpecOf(object);
      if (!pod) continue;
      const volumes = (pod['volumes'] ?? []) as Array<{ name: string; secret?: { secretName: string; items?: Array<{ key: string; path: string }> } }>;
      for (const container of containers(object)) {
        for (const entry of envOf(container)) {
          const ref = entry.valueFrom?.secretKeyRef;
          if (ref) assert.ok(keys.get(ref.name)?.has(ref.key), `${container.name} ${entry.name}: ${ref.name}/${ref.key}`);
        }
        const mounts = (container['volumeMounts'] ?? []) as Array<{ name: string; mountPath: string }>;
        for (const entry of envOf(container).filter((e) => e.value?.startsWith('/certs/'))) {
          const mount = mounts.find((m) => entry.value?.startsWith(`${m.mountPath}/`));
          const secret = volumes.find((v) => v.name === mount?.name)?.secret;
          assert.ok(mount && secret, `${container.name} ${entry.name}=${entry.value}: not in a mounted Secret`);
          const file = entry.value?.slice(mount.mountPath.length + 1) ?? '';
          const files = secret.items ? secret.items.map((i) => i.path) : [...(keys.get(secret.secretName) ?? [])];
          assert.ok(files.includes(file), `${container.name} ${entry.name}: ${secret.secretName} has no ${file}`);
        }
      }
    }
  });

  test('requests and limits leave headroom over the measured peaks (README, Performance)', () => {
    // Largest peak RSS measured: workers 414 MB, masters 280 MB; a probe adds a short-lived node process.
    const peaks: Partial<Record<Role, number>> = { worker: 414e6, master: 280e6 };
    for (const object of objects) {
      for (const container of containers(object)) {
        const resources = container['resources'] as { requests: Record<string, string>; limits: Record<string, string> };
        assert.ok(resources?.requests && resources.limits, `${container.name}: requests and limits`);
        const request = bytes(resources.requests['memory'] ?? '');
        const limit = bytes(resources.limits['memory'] ?? '');
        const peak = peaks[roleOf(container)];
        if (peak !== undefined) assert.ok(request >= peak * 1.2, `${container.name}: memory request ${request} under peak + 20 %`);
        assert.ok(limit >= request * 1.4, `${container.name}: memory limit ${limit} leaves room above the request`);
        assert.ok(millicores(resources.limits['cpu'] ?? '0') >= millicores(resources.requests['cpu'] ?? 'x'), `${container.name}: cpu`);
      }
    }
  });

  test('grace periods outlast the master\'s SHUTDOWN_TIMEOUT_MS and a tile\'s lease', () => {
    const defaults = declaredDefaults();
    const master = find('Deployment', 'tessera-master');
    const masterContainer = containers(master).find((c) => roleOf(c) === 'master') as Container;
    const shutdownMs = Number(envValue(masterContainer, 'SHUTDOWN_TIMEOUT_MS') ?? defaults.get('SHUTDOWN_TIMEOUT_MS'));
    const leaseMs = Number(envValue(masterContainer, 'TILE_LEASE_MS') ?? defaults.get('TILE_LEASE_MS'));
    const grace = (object: KubeObject): number => Number(podSpecOf(object)?.['terminationGracePeriodSeconds']) * 1000;
    assert.ok(grace(master) > shutdownMs + 10_000, `master: ${grace(master)} ms`);
    assert.ok(grace(find('Deployment', 'tessera-worker')) > leaseMs, `worker: ${grace(find('Deployment', 'tessera-worker'))} ms`);
  });

  test('several masters share one ReadWriteMany output volume at OUTPUT_DIR; the Service exposes gRPC, metrics and web on the ports they listen on', () => {
    const master = find('Deployment', 'tessera-master') as KubeObject & { spec: { replicas: number } };
    assert.ok(master.spec.replicas > 1);
    const pod = podSpecOf(master) as { volumes: Array<{ name: string; persistentVolumeClaim?: { claimName: string } }> };
    const masterContainer = containers(master).find((c) => roleOf(c) === 'master') as Container;
    const webContainer = containers(master).find((c) => roleOf(c) === 'web') as Container;
    const mount = (masterContainer['volumeMounts'] as Array<{ name: string; mountPath: string; readOnly?: boolean }>).find((m) => m.mountPath === envValue(masterContainer, 'OUTPUT_DIR'));
    assert.ok(mount && !mount.readOnly, 'OUTPUT_DIR is a writable mount');
    const claim = pod.volumes.find((v) => v.name === mount.name)?.persistentVolumeClaim?.claimName ?? '';
    assert.deepEqual((find('PersistentVolumeClaim', claim)['spec'] as { accessModes: string[] }).accessModes, ['ReadWriteMany']);

    const service = find('Service', 'tessera-master') as KubeObject & { spec: { selector: Record<string, string>; ports: Array<{ name: string; port: number; targetPort: string }> } };
    const labels = (master.spec as unknown as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
    for (const [key, value] of Object.entries(service.spec.selector)) assert.equal(labels[key], value);
    const listen = { grpc: envValue(masterContainer, 'GRPC_LISTEN'), metrics: envValue(masterContainer, 'METRICS_LISTEN'), web: envValue(webContainer, 'WEB_LISTEN') };
    const containerPorts = [...containers(master)].flatMap((c) => (c['ports'] ?? []) as Array<{ name: string; containerPort: number }>);
    for (const [name, address] of Object.entries(listen)) {
      const port = service.spec.ports.find((p) => p.name === name);
      assert.ok(port, `Service port ${name}`);
      assert.equal(containerPorts.find((p) => p.name === port.targetPort)?.containerPort, portOf(address), `${name} listens where the Service sends`);
    }
    const worker = containers(find('Deployment', 'tessera-worker'))[0] as Container;
    assert.equal(envValue(worker, 'MASTER_ADDRESS'), `${service.metadata.name}:${service.spec.ports.find((p) => p.name === 'grpc')?.port}`);
  });

  test('a PodDisruptionBudget covers each Deployment; the worker one allows scaling to zero', () => {
    for (const deployment of objects.filter((o) => o.kind === 'Deployment')) {
      const labels = (deployment['spec'] as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
      const budgets = objects.filter((o) => o.kind === 'PodDisruptionBudget').filter((b) => {
        const match = (b['spec'] as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
        return Object.entries(match).every(([k, v]) => labels[k] === v);
      });
      assert.equal(budgets.length, 1, `${deployment.metadata.name}: one budget`);
      if (deployment.metadata.name === 'tessera-worker') assert.equal((budgets[0]?.['spec'] as { minAvailable?: unknown }).minAvailable, undefined);
    }
  });

  test('the ScaledObject scales the worker Deployment (which sets no replicas) from zero on a postgresql query', () => {
    const scaled = find('ScaledObject', 'tessera-worker') as KubeObject & {
      spec: { scaleTargetRef: { name: string }; minReplicaCount: number; maxReplicaCount: number; triggers: Array<{ type: string; metadata: Record<string, string>; authenticationRef: { name: string } }> };
    };
    const worker = find('Deployment', scaled.spec.scaleTargetRef.name);
    assert.equal(containers(worker).map(roleOf).join(), 'worker');
    assert.equal((worker['spec'] as { replicas?: number }).replicas, undefined, 'KEDA owns the replica count');
    assert.equal(scaled.spec.minReplicaCount, 0);
    assert.ok(scaled.spec.maxReplicaCount >= 1);
    const [trigger] = scaled.spec.triggers;
    assert.equal(trigger?.type, 'postgresql');
    find('TriggerAuthentication', trigger.authenticationRef.name);
    const known = new Set(['query', 'targetQueryValue', 'activationTargetQueryValue', 'host', 'port', 'userName', 'dbName', 'sslmode', 'passwordFromEnv', 'connectionFromEnv']);
    for (const key of Object.keys(trigger.metadata)) assert.ok(known.has(key), `postgresql scaler has no ${key}`);
    assert.match(trigger.metadata['query'] ?? '', /FROM mosaic_requests/);
    assert.ok(Number(trigger.metadata['targetQueryValue']) > 0);
  });
});
