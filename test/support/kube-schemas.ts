/**
 * Validates Kubernetes and KEDA objects against their OpenAPI schemas, with the validators of the
 * `kubernetes-models` and `@kubernetes-models/keda` packages: every model class they export is
 * found by its apiVersion and kind, so an object of any kind is checked, not only those listed here.
 */
import type { KubeObject } from './kustomize.js';

interface ModelClass {
  readonly apiVersion: string;
  readonly kind: string;
  new (data: unknown): { validate(): void };
}

export interface SchemaValidator {
  /** Throws with the schema's complaints; an apiVersion/kind no package models is an error too. */
  validate(object: KubeObject): void;
}

function collect(registry: Map<string, ModelClass>, exports: Record<string, unknown>, depth: number): void {
  for (const value of Object.values(exports)) {
    if (typeof value === 'function' && 'apiVersion' in value && 'kind' in value) {
      const model = value as unknown as ModelClass;
      registry.set(`${model.apiVersion}/${model.kind}`, model);
    } else if (value !== null && typeof value === 'object' && depth < 3) {
      collect(registry, value as Record<string, unknown>, depth + 1);
    }
  }
}

export async function loadSchemaValidator(): Promise<SchemaValidator> {
  const [kubernetes, keda] = await Promise.all([import('kubernetes-models'), import('@kubernetes-models/keda')]);
  const registry = new Map<string, ModelClass>();
  collect(registry, kubernetes as unknown as Record<string, unknown>, 0);
  collect(registry, keda as unknown as Record<string, unknown>, 0);
  return {
    validate(object) {
      const model = registry.get(`${object.apiVersion}/${object.kind}`);
      if (!model) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
      new model(object).validate();
    },
  };
}
