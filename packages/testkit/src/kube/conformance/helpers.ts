// Helpers for the black-box conformance suite. They reach the server only through
// @kubernetes/client-node (typed APIs, Watch, informers, and its TLS/auth settings for the few raw
// HTTP checks) and the kubectl binary, so the suite runs unchanged against a real apiserver.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { IncomingMessage, RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { eventually as pollUntil } from '../../eventually.ts';

export interface KubeConformanceTarget {
  kubeConfig: k8s.KubeConfig;
  /** A kubeconfig file for kubectl pointing at the same cluster and user. */
  kubeconfigPath: string;
  /**
   * Drops the server's watch history so older resourceVersions are "too old" (the fake's compaction).
   * A real apiserver's watch cache keeps minutes of history and grows under load, so a test cannot
   * force this there; the 410 test runs only where the target offers it.
   */
  expireWatchHistory?: () => void | Promise<void>;
}

/** The server's Kubernetes minor version (1.x), for the few behaviours that differ between releases. */
export async function serverMinor(kc: k8s.KubeConfig): Promise<number> {
  const v = await kc.makeApiClient(k8s.VersionApi).getCode();
  return Number.parseInt(v.minor, 10);
}

export type GetTarget = () => KubeConformanceTarget | Promise<KubeConformanceTarget>;

export interface ConformanceOpts {
  /** Run the kubectl checks. @default true */
  kubectl?: boolean;
  /** Deadline for eventual conditions (GC, namespace deletion, CRD establishment). @default 15000 */
  eventuallyMs?: number;
}

export function rand(n = 6): string {
  const a = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (let i = 0; i < n; i++) s += a[Math.floor(Math.random() * a.length)];
  return s;
}

/** eventually() with the suite's argument order and pace: 15 s, a poll every 50 ms. */
export function eventually<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<NonNullable<T>> {
  return pollUntil(async () => (await fn()) || undefined, what, { timeoutMs, intervalMs: 50 }) as Promise<
    NonNullable<T>
  >;
}

export interface StatusBody {
  kind?: string;
  apiVersion?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: Array<{ reason?: string; message?: string; field?: string }>;
    retryAfterSeconds?: number;
  };
}

/** Awaits a rejected client-node call and returns the Status body (ApiException.body is raw text). */
export async function apiError(p: Promise<unknown>, code: number): Promise<StatusBody> {
  try {
    await p;
  } catch (e) {
    const err = e as { code?: number; body?: unknown };
    expect(err.code, `HTTP status (body: ${String(err.body)})`).toBe(code);
    return typeof err.body === 'string' ? (JSON.parse(err.body) as StatusBody) : (err.body as StatusBody);
  }
  throw new Error(`expected HTTP ${code}, but the call succeeded`);
}

export function isNotFound(e: unknown): boolean {
  return (e as { code?: number }).code === 404;
}

/** Resolves true once `get` answers 404. */
export async function gone(
  get: () => Promise<unknown>,
  timeoutMs = 15_000,
  what = 'deletion',
): Promise<void> {
  await eventually(
    async () => {
      try {
        await get();
        return false;
      } catch (e) {
        if (isNotFound(e)) return true;
        throw e;
      }
    },
    timeoutMs,
    what,
  );
}

export interface Ctx {
  target: KubeConformanceTarget;
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  custom: k8s.CustomObjectsApi;
  ext: k8s.ApiextensionsV1Api;
  events: k8s.EventsV1Api;
  /** A fresh namespace for the current test, deleted after it. */
  ns: string;
  opts: Required<ConformanceOpts>;
}

/**
 * Registers hooks that give every test its own namespace (deleted afterwards, without waiting)
 * and returns a getter for the per-test context.
 */
export function useCluster(getTarget: GetTarget, opts: ConformanceOpts): () => Ctx {
  let ctx: Ctx | undefined;
  let base: Omit<Ctx, 'ns'> | undefined;
  beforeAll(async () => {
    const target = await getTarget();
    const kc = target.kubeConfig;
    base = {
      target,
      kc,
      core: kc.makeApiClient(k8s.CoreV1Api),
      apps: kc.makeApiClient(k8s.AppsV1Api),
      custom: kc.makeApiClient(k8s.CustomObjectsApi),
      ext: kc.makeApiClient(k8s.ApiextensionsV1Api),
      events: kc.makeApiClient(k8s.EventsV1Api),
      opts: { kubectl: opts.kubectl ?? true, eventuallyMs: opts.eventuallyMs ?? 15_000 },
    };
  });
  beforeEach(async () => {
    if (!base) throw new Error('cluster not initialised');
    const ns = `conf-${rand(8)}`;
    await base.core.createNamespace({
      body: { metadata: { name: ns, labels: { 'conformance.agenttier.io/test': 'true' } } },
    });
    ctx = { ...base, ns };
  });
  afterEach(async () => {
    if (ctx) await ctx.core.deleteNamespace({ name: ctx.ns }).catch(() => undefined);
    ctx = undefined;
  });
  return () => {
    if (!ctx) throw new Error('no test context (used outside a test?)');
    return ctx;
  };
}

/** Waits until the namespace's `default` ServiceAccount exists (the serviceaccount controller makes it). */
export async function defaultServiceAccount(c: Ctx): Promise<void> {
  await eventually(
    () => c.core.readNamespacedServiceAccount({ namespace: c.ns, name: 'default' }),
    c.opts.eventuallyMs,
    'default ServiceAccount',
  );
}

// --- CRDs ---------------------------------------------------------------------------------------

export interface TestCrd {
  group: string;
  version: string;
  plural: string;
  kind: string;
  name: string;
}

/** A CRD as JSON on the wire (client-node's typed model renames schema keywords). */
export interface CrdBody {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { plural: string; singular?: string; kind: string; shortNames?: string[] };
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      schema?: unknown;
      [k: string]: unknown;
    }>;
  };
}

/** The CRD most tests use: Widget, with status subresource, defaults, enum, bounds, a set list. */
export function widgetCrd(
  group: string,
  extra: { scope?: 'Namespaced' | 'Cluster'; plural?: string; kind?: string } = {},
): CrdBody {
  const plural = extra.plural ?? 'widgets';
  const kind = extra.kind ?? 'Widget';
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: extra.scope ?? 'Namespaced',
      names: { plural, singular: kind.toLowerCase(), kind, shortNames: [`${kind.toLowerCase()}x`] },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Size', type: 'integer', jsonPath: '.spec.size' },
            { name: 'Mode', type: 'string', jsonPath: '.spec.mode' },
            { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: {
                  type: 'object',
                  required: ['size'],
                  properties: {
                    size: { type: 'integer', minimum: 1, maximum: 10 },
                    mode: { type: 'string', enum: ['fast', 'slow'], default: 'slow' },
                    name: { type: 'string', pattern: '^[a-z]+$', maxLength: 10 },
                    tags: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
                    ports: {
                      type: 'array',
                      'x-kubernetes-list-type': 'map',
                      'x-kubernetes-list-map-keys': ['name'],
                      items: {
                        type: 'object',
                        required: ['name'],
                        properties: { name: { type: 'string' }, port: { type: 'integer' } },
                      },
                    },
                    config: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                  },
                },
                status: {
                  type: 'object',
                  properties: { phase: { type: 'string' }, observedGeneration: { type: 'integer' } },
                },
              },
            },
          },
        },
      ],
    },
  };
}

/** Creates a CRD from wire JSON (through the untyped custom-objects client, which sends it as is). */
export function createCrd(custom: k8s.CustomObjectsApi, crd: CrdBody): Promise<unknown> {
  return custom.createClusterCustomObject({
    group: 'apiextensions.k8s.io',
    version: 'v1',
    plural: 'customresourcedefinitions',
    body: crd,
  });
}

async function installCrd(c: Omit<Ctx, 'ns'>, crd: CrdBody, timeoutMs: number): Promise<void> {
  await createCrd(c.custom, crd);
  const name = crd.metadata.name;
  await eventually(
    async () => {
      const got = await c.ext.readCustomResourceDefinition({ name });
      return got.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True');
    },
    timeoutMs,
    `CRD ${name} Established`,
  );
  // Established is set before every apiserver handler has caught up; wait until listing works.
  const spec = crd.spec;
  const version = spec.versions[0]?.name ?? 'v1';
  await eventually(
    () =>
      spec.scope === 'Cluster'
        ? c.custom.listClusterCustomObject({ group: spec.group, version, plural: spec.names.plural })
        : c.custom.listCustomObjectForAllNamespaces({
            group: spec.group,
            version,
            resourcePlural: spec.names.plural,
          }),
    timeoutMs,
    `${spec.names.plural} served`,
  );
}

/**
 * Installs a Widget CRD under a unique group for the enclosing describe block and removes it
 * afterwards. Returns a getter for its identifiers.
 */
export function useWidgetCrd(
  getTarget: GetTarget,
  opts: ConformanceOpts,
  extra: { scope?: 'Namespaced' | 'Cluster' } = {},
): () => TestCrd {
  let info: TestCrd | undefined;
  let ext: k8s.ApiextensionsV1Api | undefined;
  beforeAll(async () => {
    const target = await getTarget();
    const kc = target.kubeConfig;
    const group = `c${rand(8)}.conformance.agenttier.io`;
    const crd = widgetCrd(group, extra);
    ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    await installCrd(
      {
        target,
        kc,
        core: kc.makeApiClient(k8s.CoreV1Api),
        apps: kc.makeApiClient(k8s.AppsV1Api),
        custom: kc.makeApiClient(k8s.CustomObjectsApi),
        ext,
        events: kc.makeApiClient(k8s.EventsV1Api),
        opts: { kubectl: true, eventuallyMs: opts.eventuallyMs ?? 15_000 },
      },
      crd,
      opts.eventuallyMs ?? 15_000,
    );
    info = { group, version: 'v1', plural: 'widgets', kind: 'Widget', name: crd.metadata.name };
  });
  afterAll(async () => {
    if (info && ext) await ext.deleteCustomResourceDefinition({ name: info.name }).catch(() => undefined);
  });
  return () => {
    if (!info) throw new Error('CRD not installed');
    return info;
  };
}

export function widget(
  crd: TestCrd,
  name: string,
  spec: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  return { apiVersion: `${crd.group}/${crd.version}`, kind: crd.kind, metadata: { name, ...extra }, spec };
}

export const ids = (crd: TestCrd, ns: string) => ({
  group: crd.group,
  version: crd.version,
  namespace: ns,
  plural: crd.plural,
});

export const headers = {
  merge: k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  json: k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
  strategic: k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
  apply: k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
};

// --- Raw HTTP through the client library's transport settings ---------------------------------

async function requestOptions(
  kc: k8s.KubeConfig,
  method: string,
  headers: Record<string, string>,
): Promise<{ url: string; opts: RequestOptions; tls: boolean }> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster');
  const opts: RequestOptions & { headers: Record<string, string> } = { method, headers: { ...headers } };
  await kc.applyToHTTPSOptions(opts);
  const tls = cluster.server.startsWith('https:');
  if (!tls) delete opts.agent;
  return { url: cluster.server, opts, tls };
}

export interface RawResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/** One HTTP exchange, authenticated and TLS-configured exactly as client-node would be. */
export async function raw(
  kc: k8s.KubeConfig,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const res = await openRaw(kc, method, path, body, headers);
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') };
}

/** Opens a request and returns the streaming response (for watch wire-format checks). */
export async function openRaw(
  kc: k8s.KubeConfig,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<IncomingMessage> {
  const all = { ...headers };
  // Node's client frames DELETE bodies only with an explicit Content-Length.
  if (body !== undefined) all['Content-Length'] = String(Buffer.byteLength(body));
  const { url, opts, tls } = await requestOptions(kc, method, all);
  return new Promise((resolve, reject) => {
    const req = (tls ? httpsRequest : httpRequest)(new URL(url + path), opts, resolve);
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// --- Watch ----------------------------------------------------------------------------------------

export interface WatchEvent {
  type: string;
  object: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface Watching {
  events: WatchEvent[];
  /** Resolves with the `done` error (null for a clean end of stream). */
  done: Promise<unknown>;
  stop(): void;
}

export async function watch(
  kc: k8s.KubeConfig,
  path: string,
  query: Record<string, string | number | boolean>,
): Promise<Watching> {
  const events: WatchEvent[] = [];
  let resolveDone: (e: unknown) => void = () => {};
  const done = new Promise<unknown>((r) => (resolveDone = r));
  const ctl = await new k8s.Watch(kc).watch(
    path,
    query,
    (type, object) => events.push({ type, object: object as WatchEvent['object'] }),
    (err) => resolveDone(err ?? null),
  );
  return { events, done, stop: () => ctl.abort() };
}

// --- kubectl --------------------------------------------------------------------------------------

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

let cacheDir: string | undefined;

/** Runs kubectl against the target (asynchronously: a fake in this process must keep serving). */
export async function kubectl(c: Ctx, args: string[], stdin?: string): Promise<KubectlResult> {
  cacheDir ??= mkdtempSync(join(tmpdir(), 'kubectl-cache-'));
  const full = ['--kubeconfig', c.target.kubeconfigPath, '--cache-dir', cacheDir, ...args];
  return new Promise((resolve) => {
    const child = execFile('kubectl', full, { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === 'number'
          ? (err as { code: number }).code
          : 1
        : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (stdin !== undefined) {
      child.stdin?.end(stdin);
    }
  });
}

/** Starts a long-running kubectl (e.g. `get -w`); collects its stdout until stopped. */
export function kubectlBackground(
  c: Ctx,
  args: string[],
): { output: () => string; stop: () => Promise<void> } {
  cacheDir ??= mkdtempSync(join(tmpdir(), 'kubectl-cache-'));
  let out = '';
  const child = execFile(
    'kubectl',
    ['--kubeconfig', c.target.kubeconfigPath, '--cache-dir', cacheDir, ...args],
    () => {},
  );
  child.stdout?.on('data', (d: Buffer | string) => (out += String(d)));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  return {
    output: () => out,
    stop: async () => {
      child.kill();
      await exited;
    },
  };
}

/** Writes `content` to a temporary file for `kubectl apply -f` and returns its path. */
export function tempManifest(content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-manifest-'));
  const path = join(dir, 'manifest.yaml');
  writeFileSync(path, content);
  return path;
}

export function removeTemp(path: string): void {
  rmSync(join(path, '..'), { recursive: true, force: true });
}
