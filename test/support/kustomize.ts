/**
 * A small stand-in for `kustomize build` (not available offline): reads a kustomization.yaml,
 * loads every file it lists under `resources` (YAML documents, in order), and applies the two
 * transforms deploy/kubernetes/ uses: `namespace` on every namespaced object and `images`
 * (newName / newTag / digest) on every container. Anything else in the kustomization is refused,
 * so a new feature there cannot silently go untested.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  readonly [field: string]: unknown;
}

export interface RenderedObject {
  /** The file it came from, relative to the kustomization. */
  readonly file: string;
  readonly object: KubeObject;
}

interface ImageRule {
  readonly name: string;
  readonly newName?: string;
  readonly newTag?: string;
  readonly digest?: string;
}

interface Kustomization {
  readonly resources?: readonly string[];
  readonly namespace?: string;
  readonly images?: readonly ImageRule[];
}

const KNOWN_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'images']);
/** Kinds without a namespace among those a deployment of this kind may hold. */
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PersistentVolume', 'StorageClass', 'CustomResourceDefinition', 'ClusterTriggerAuthentication']);

/** Every object of one YAML file (empty documents skipped); throws on a YAML error. */
export function loadYamlObjects(path: string): KubeObject[] {
  const documents = parseAllDocuments(readFileSync(path, 'utf8'));
  const objects: KubeObject[] = [];
  for (const document of documents) {
    if (document.errors.length > 0) throw new Error(`${path}: ${document.errors[0]?.message}`);
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;
    objects.push(value as KubeObject);
  }
  return objects;
}

function withImage(image: string, rules: readonly ImageRule[]): string {
  const at = image.indexOf('@');
  const withoutDigest = at >= 0 ? image.slice(0, at) : image;
  const colon = withoutDigest.lastIndexOf(':');
  const name = colon > withoutDigest.lastIndexOf('/') ? withoutDigest.slice(0, colon) : withoutDigest;
  const rule = rules.find((r) => r.name === name);
  if (!rule) return image;
  const tag = rule.digest ? `@${rule.digest}` : rule.newTag ? `:${rule.newTag}` : image.slice(name.length);
  return `${rule.newName ?? name}${tag}`;
}

/** The containers of an object's pod template (Deployment, StatefulSet, Job, ...), if it has one. */
export function podSpecOf(object: KubeObject): Record<string, unknown> | undefined {
  const spec = object['spec'] as { template?: { spec?: Record<string, unknown> } } | undefined;
  return spec?.template?.spec;
}

export function containersOf(object: KubeObject): Array<Record<string, unknown>> {
  const pod = podSpecOf(object);
  if (!pod) return [];
  return [...((pod['initContainers'] as Array<Record<string, unknown>> | undefined) ?? []), ...((pod['containers'] as Array<Record<string, unknown>> | undefined) ?? [])];
}

/** What `kustomize build <dir>` would print, as objects, for the features listed above. */
export function renderKustomization(dir: string): RenderedObject[] {
  const kustomization = loadYamlObjects(join(dir, 'kustomization.yaml'))[0] as unknown as Kustomization & Record<string, unknown>;
  for (const field of Object.keys(kustomization)) {
    if (!KNOWN_FIELDS.has(field)) throw new Error(`kustomization.yaml uses "${field}", which this renderer does not implement`);
  }
  const rendered: RenderedObject[] = [];
  for (const file of kustomization.resources ?? []) {
    for (const object of loadYamlObjects(join(dir, file))) {
      if (kustomization.namespace && !CLUSTER_SCOPED.has(object.kind)) object.metadata.namespace = kustomization.namespace;
      for (const container of containersOf(object)) {
        if (typeof container['image'] === 'string') container['image'] = withImage(container['image'], kustomization.images ?? []);
      }
      rendered.push({ file, object });
    }
  }
  return rendered;
}
