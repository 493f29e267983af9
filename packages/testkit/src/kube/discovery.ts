// Discovery documents (/version, /api, /apis, group and group-version resource lists) and a small
// OpenAPI v3 surface. kubectl reads /openapi/v3 to learn that PATCH accepts fieldValidation (so it
// can leave validation to the server) and to find schemas; built-in kinds get paths only, which
// makes kubectl fall back to its compiled-in types for strategic merge patches.
import { createHash } from 'node:crypto';
import type { Json, JsonObject } from './json.ts';
import type { Registry } from './registry.ts';
import { apiVersionOf } from './resource-type.ts';
import type { ResourceType } from './resource-type.ts';

export interface VersionInfo {
  major: string;
  minor: string;
}

export function versionDoc(v: VersionInfo): JsonObject {
  return {
    major: v.major,
    minor: v.minor,
    gitVersion: `v${v.major}.${v.minor}.0`,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2023-01-01T00:00:00Z',
    goVersion: 'go1.19.4',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

export function coreVersions(serverAddress: string): JsonObject {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupDoc(group: string, versions: string[]): JsonObject {
  const vs = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { name: group, versions: vs, preferredVersion: vs[0] ?? null };
}

export function groupList(reg: Registry): JsonObject {
  const groups = [...reg.groupVersions()].filter(([g]) => g !== '').sort(([a], [b]) => a.localeCompare(b));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(([g, vs]) => groupDoc(g, vs)) };
}

export function group(reg: Registry, name: string): JsonObject | undefined {
  const vs = reg.groupVersions().get(name);
  if (!vs || name === '') return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(name, vs) };
}

function storageVersionHash(t: ResourceType): string {
  return createHash('sha256')
    .update(`${t.group}/${t.storageVersion}/${t.kind}`)
    .digest('base64')
    .slice(0, 11);
}

/** The minor version of the Kubernetes release emulated (`{major: '1', minor: '26'}` → 26). */
export function minorOf(v: VersionInfo): number {
  return Number.parseInt(v.minor, 10) || 0;
}

/**
 * `emulatedMinor`: before 1.27 built-in resources have an empty `singularName` (the apiserver's
 * registries learned to report it in 1.27); custom resources always carry the CRD's.
 */
export function resourceList(
  reg: Registry,
  groupName: string,
  version: string,
  emulatedMinor: number,
): JsonObject | undefined {
  const types = reg.typesIn(groupName, version).sort((a, b) => a.plural.localeCompare(b.plural));
  if (types.length === 0) return undefined;
  const resources: Json[] = [];
  for (const t of types) {
    const r: JsonObject = {
      name: t.plural,
      singularName: t.isCustom || emulatedMinor >= 27 ? t.singular : '',
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: t.verbs,
    };
    if (t.shortNames.length) r.shortNames = t.shortNames;
    if (t.categories.length) r.categories = t.categories;
    r.storageVersionHash = storageVersionHash(t);
    resources.push(r);
    const sub = { singularName: '', namespaced: t.namespaced, verbs: ['get', 'patch', 'update'] };
    if (t.statusSubresource) resources.push({ name: `${t.plural}/status`, kind: t.kind, ...sub });
    if (t.scale)
      resources.push({
        name: `${t.plural}/scale`,
        group: 'autoscaling',
        version: 'v1',
        kind: 'Scale',
        ...sub,
      });
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: apiVersionOf(groupName, version),
    resources,
  };
}

// --- OpenAPI v3 ---------------------------------------------------------------------------------

const META_REFS: JsonObject = {
  'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta': { type: 'object', description: 'ObjectMeta' },
  'io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta': { type: 'object', description: 'ListMeta' },
  'io.k8s.apimachinery.pkg.apis.meta.v1.Status': { type: 'object', description: 'Status' },
  'io.k8s.apimachinery.pkg.apis.meta.v1.Patch': { type: 'object', description: 'Patch' },
  'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions': { type: 'object', description: 'DeleteOptions' },
};

function schemaName(t: ResourceType, version: string): string {
  const g = t.group ? t.group.split('.').reverse().join('.') : 'io.k8s.api.core';
  return `${g}.${version}.${t.kind}`;
}

function queryParam(name: string, type = 'string'): JsonObject {
  return { name, in: 'query', schema: { type, uniqueItems: true } };
}

function operation(
  t: ResourceType,
  version: string,
  action: string,
  params: string[],
  ref?: string,
): JsonObject {
  const op: JsonObject = {
    operationId: `${action}${t.kind}`,
    parameters: params.map((p) => queryParam(p, p === 'force' ? 'boolean' : 'string')),
    responses: {
      '200': { description: 'OK', content: ref ? { 'application/json': { schema: { $ref: ref } } } : {} },
    },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: t.group, version, kind: t.kind },
  };
  return op;
}

function crdSchema(t: ResourceType, version: string): Json {
  const s = t.schemaFor?.(version);
  const props = (s && typeof s.properties === 'object' && s.properties) || {};
  return {
    ...(s ?? { type: 'object' }),
    properties: {
      ...(props as JsonObject),
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { allOf: [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }] },
    },
    'x-kubernetes-group-version-kind': [{ group: t.group, version, kind: t.kind }],
  };
}

export function openApiV3Doc(
  reg: Registry,
  groupName: string,
  version: string,
  kubeVersion: VersionInfo,
): JsonObject | undefined {
  const types = reg.typesIn(groupName, version);
  if (types.length === 0) return undefined;
  const prefix = groupName ? `/apis/${groupName}/${version}` : '/api/v1';
  const paths: JsonObject = {};
  const schemas: JsonObject = { ...META_REFS };
  const write = ['dryRun', 'fieldManager', 'fieldValidation'];
  for (const t of types) {
    const ref = t.isCustom ? `#/components/schemas/${schemaName(t, version)}` : undefined;
    if (t.isCustom) schemas[schemaName(t, version)] = crdSchema(t, version);
    const base = t.namespaced ? `${prefix}/namespaces/{namespace}/${t.plural}` : `${prefix}/${t.plural}`;
    paths[base] = {
      get: operation(t, version, 'list', ['labelSelector', 'fieldSelector', 'resourceVersion', 'watch']),
      post: operation(t, version, 'post', write, ref),
    };
    paths[`${base}/{name}`] = {
      get: operation(t, version, 'get', [], ref),
      put: operation(t, version, 'put', write, ref),
      patch: operation(t, version, 'patch', [...write, 'force'], ref),
      delete: operation(t, version, 'delete', ['dryRun', 'propagationPolicy']),
    };
    if (t.statusSubresource) {
      paths[`${base}/{name}/status`] = {
        get: operation(t, version, 'get', [], ref),
        put: operation(t, version, 'put', write, ref),
        patch: operation(t, version, 'patch', [...write, 'force'], ref),
      };
    }
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: `v${kubeVersion.major}.${kubeVersion.minor}.0` },
    paths,
    components: { schemas },
  };
}

export function openApiV3Root(reg: Registry, kubeVersion: VersionInfo): JsonObject {
  const paths: JsonObject = {};
  for (const [g, vs] of reg.groupVersions()) {
    for (const v of vs) {
      const key = g ? `apis/${g}/${v}` : 'api/v1';
      const doc = openApiV3Doc(reg, g, v, kubeVersion);
      const hash = createHash('sha512').update(JSON.stringify(doc)).digest('hex').slice(0, 64).toUpperCase();
      paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
    }
  }
  return { paths };
}
