import type { ResourceKind } from '@agenttier/contract';
import {
  API_GROUP,
  KINDS,
  nameSchema,
  sandboxSpecSchema,
  sandboxStatusSchema,
  templateSpecSchema,
} from '@agenttier/contract';
import type { CelRule, JsonSchema } from './crd-schema.ts';
import { celRulesFor, zodToCrdSchema } from './crd-schema.ts';

export const CRD_VERSION = 'v1alpha1';
export const CRD_CATEGORIES = ['agenttier'];

interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'date' | 'boolean' | 'number';
  jsonPath: string;
  description?: string;
  priority?: number;
}

const SANDBOX_COLUMNS: PrinterColumn[] = [
  { name: 'Status', type: 'string', jsonPath: '.status.phase', description: 'Lifecycle phase' },
  {
    name: 'Template',
    type: 'string',
    jsonPath: '.status.resolvedTemplate',
    description: 'Template the sandbox was built from',
  },
  { name: 'Mode', type: 'string', jsonPath: '.spec.mode', description: 'code or agent' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  {
    name: 'Desired',
    type: 'string',
    jsonPath: '.spec.desiredState',
    priority: 1,
    description: 'Running or Stopped',
  },
  { name: 'Pod', type: 'string', jsonPath: '.status.podName', priority: 1 },
  { name: 'Restarts', type: 'integer', jsonPath: '.status.restartCount', priority: 1 },
  { name: 'Message', type: 'string', jsonPath: '.status.message', priority: 1 },
];

const TEMPLATE_COLUMNS: PrinterColumn[] = [
  { name: 'Mode', type: 'string', jsonPath: '.spec.mode' },
  { name: 'Image', type: 'string', jsonPath: '.spec.image.repository' },
  { name: 'Runtime', type: 'string', jsonPath: '.spec.runtimeClass', priority: 1 },
  { name: 'Description', type: 'string', jsonPath: '.spec.description', priority: 1 },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

const SHORT_NAMES: Record<ResourceKind, string[]> = {
  Sandbox: ['sb', 'sbx'],
  SandboxTemplate: ['sbt'],
  ClusterSandboxTemplate: ['csbt'],
};

/**
 * Name rules Kubernetes cannot express in openAPIV3Schema (metadata is off limits) but CEL can, with
 * the router's messages for `name`. No `fieldPath` (it names metadata.name from 1.28 on): 1.26 and
 * 1.27 refuse a CRD that carries it, so the failure is reported at the object.
 */
const NAME_RULES: CelRule[] = celRulesFor(nameSchema, 'self.metadata.name');

function rootSchema(kind: ResourceKind): JsonSchema {
  const isSandbox = kind === 'Sandbox';
  const properties: Record<string, JsonSchema> = {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: { type: 'object' },
    spec: zodToCrdSchema(isSandbox ? sandboxSpecSchema : templateSpecSchema),
  };
  if (isSandbox) properties.status = zodToCrdSchema(sandboxStatusSchema);
  return {
    type: 'object',
    description: isSandbox
      ? 'An isolated, persistent sandbox: a Pod, a workspace PersistentVolumeClaim, a NetworkPolicy and a ServiceAccount.'
      : 'Reusable sandbox defaults (image, resources, storage, network, harness) that sandboxes reference.',
    required: ['spec'],
    properties,
    // Names become child names (`<name>-workspace`) and label values, so they are DNS labels of <= 53.
    ...(isSandbox ? { 'x-kubernetes-validations': NAME_RULES } : {}),
  };
}

/** The CustomResourceDefinition of one kind, as applied to a cluster. */
export function buildCrd(kind: ResourceKind): Record<string, unknown> {
  const info = KINDS[kind];
  const isSandbox = kind === 'Sandbox';
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${info.plural}.${API_GROUP}`,
      labels: { 'app.kubernetes.io/name': 'agenttier', 'app.kubernetes.io/component': 'crd' },
    },
    spec: {
      group: API_GROUP,
      names: {
        kind,
        listKind: `${kind}List`,
        plural: info.plural,
        singular: info.singular,
        shortNames: SHORT_NAMES[kind],
        categories: CRD_CATEGORIES,
      },
      scope: info.namespaced ? 'Namespaced' : 'Cluster',
      versions: [
        {
          name: CRD_VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: rootSchema(kind) },
          ...(info.hasStatus ? { subresources: { status: {} } } : {}),
          additionalPrinterColumns: isSandbox ? SANDBOX_COLUMNS : TEMPLATE_COLUMNS,
        },
      ],
    },
  };
}

export const CRD_KINDS: ResourceKind[] = ['Sandbox', 'SandboxTemplate', 'ClusterSandboxTemplate'];

export function buildCrds(): Array<Record<string, unknown>> {
  return CRD_KINDS.map(buildCrd);
}

/** File name of a CRD under deploy/crds (and the Helm chart's crds/). */
export function crdFileName(kind: ResourceKind): string {
  return `${KINDS[kind].plural}.${API_GROUP}.yaml`;
}
