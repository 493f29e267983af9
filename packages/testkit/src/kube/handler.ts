// HTTP framing: routing of apiserver paths, query and body decoding, content negotiation (JSON,
// Table for kubectl, 406 for protobuf-only clients), bearer-token auth, Warning headers, Status
// bodies for errors, the plain-text 404 for unknown paths, fault injection and a request log.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import type { Cluster } from './cluster.ts';
import {
  coreVersions,
  group,
  groupList,
  openApiV3Doc,
  openApiV3Root,
  resourceList,
  minorOf,
  versionDoc,
} from './discovery.ts';
import type { VersionInfo } from './discovery.ts';
import { failureError, FaultRules } from './faults.ts';
import type { RequestInfo, Verb } from './faults.ts';
import { isObject, str } from './json.ts';
import type { JsonObject } from './json.ts';
import type { ResourceType } from './resource-type.ts';
import { unsupportedPatch } from './rest.ts';
import type { DeleteOptions, FieldValidation, ListQuery, PatchType, Target, WriteOptions } from './rest.ts';
import { errors, KubeError } from './status.ts';
import { toTable } from './table.ts';
import type { IncludeObject } from './table.ts';

export interface RequestRecord {
  method: string;
  path: string;
  verb?: Verb;
  group?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  userAgent: string;
  fieldManager?: string;
  code: number;
}

export interface HandlerOpts {
  token?: string;
  version: VersionInfo;
}

interface ResourcePath {
  group: string;
  version: string;
  namespace?: string;
  resource: string;
  name?: string;
  subresource?: string;
}

/** Splits `/api/v1/...` and `/apis/<g>/<v>/...` resource paths; undefined for anything else. */
export function parseResourcePath(
  path: string,
  isResource: (g: string, v: string, r: string) => boolean,
): ResourcePath | undefined {
  const segs = path.split('/').filter(Boolean).map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api' && segs.length >= 3) {
    group = '';
    version = segs[1] ?? '';
    rest = segs.slice(2);
  } else if (segs[0] === 'apis' && segs.length >= 4) {
    group = segs[1] ?? '';
    version = segs[2] ?? '';
    rest = segs.slice(3);
  } else {
    return undefined;
  }
  // namespaces/<ns>/<resource>/... unless it is the namespace object itself (or its subresource).
  if (rest[0] === 'namespaces' && rest.length >= 3 && isResource(group, version, rest[2] ?? '')) {
    const [, namespace, resource, name, subresource, ...extra] = rest;
    if (extra.length) return undefined;
    return { group, version, namespace, resource: resource ?? '', name, subresource };
  }
  const [resource, name, subresource, ...extra] = rest;
  if (extra.length || !resource) return undefined;
  return { group, version, resource, name, subresource };
}

function userAgentManager(ua: string): string {
  const product = ua.split('/')[0] ?? '';
  return (product || 'unknown').slice(0, 128);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function decodeBody(raw: string, contentType: string): unknown {
  if (/protobuf|cbor/.test(contentType)) {
    // Only JSON and YAML bodies are modelled; client-go retries 415s for these in JSON.
    throw errors.unsupportedMediaType(['application/json', 'application/yaml']);
  }
  if (raw.trim() === '') return undefined;
  try {
    if (/yaml/.test(contentType)) return parseYaml(raw) as unknown;
    return JSON.parse(raw) as unknown;
  } catch (e) {
    throw errors.badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
  }
}

function patchTypeOf(contentType: string): PatchType | undefined {
  const ct = contentType.split(';')[0]?.trim();
  switch (ct) {
    case 'application/json-patch+json':
      return 'json';
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    case 'application/apply-patch+yaml':
      return 'apply';
    default:
      return undefined;
  }
}

/** Table rendering when kubectl asks for it (`as=Table;g=meta.k8s.io`). */
function wantsTable(accept: string): boolean {
  return /as=Table/.test(accept) && /g=meta\.k8s\.io/.test(accept);
}

function acceptable(accept: string): boolean {
  if (!accept) return true;
  return accept.split(',').some((part) => {
    const mt = part.split(';')[0]?.trim() ?? '';
    return mt === '*/*' || mt === 'application/*' || mt === 'application/json' || mt === 'application/yaml';
  });
}

export class Handler {
  readonly faults = new FaultRules();
  readonly log: RequestRecord[] = [];

  constructor(
    private readonly cluster: Cluster,
    private readonly opts: HandlerOpts,
  ) {}

  private isResource = (g: string, v: string, r: string) => !!this.cluster.registry.lookup(g, v, r);

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const ua = req.headers['user-agent'] ?? '';
    const record: RequestRecord = { method: req.method ?? 'GET', path: url.pathname, userAgent: ua, code: 0 };
    this.log.push(record);
    res.on('finish', () => (record.code = res.statusCode));
    try {
      if (this.opts.token && req.headers.authorization !== `Bearer ${this.opts.token}`)
        throw errors.unauthorized();
      if (this.serveNonResource(url, req, res)) return;
      const rp = parseResourcePath(url.pathname, this.isResource);
      const t = rp && this.cluster.registry.lookup(rp.group, rp.version, rp.resource);
      if (!rp || !t || !this.subresourceServed(t, rp.subresource)) {
        notFoundText(res);
        return;
      }
      await this.serveResource(req, res, url, rp, t, record);
    } catch (e) {
      this.writeError(res, e);
    }
  }

  private subresourceServed(t: ResourceType, sub: string | undefined): boolean {
    if (sub === undefined) return true;
    if (sub === 'status') return t.statusSubresource;
    if (sub === 'scale') return !!t.scale;
    return false;
  }

  private writeError(res: ServerResponse, e: unknown): void {
    const err = e instanceof KubeError ? e : errors.internal(e instanceof Error ? e.message : String(e));
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err.text !== undefined) {
      res.writeHead(err.code, {
        'Content-Type': 'text/plain; charset=utf-8',
        'X-Content-Type-Options': 'nosniff',
        ...err.headers,
      });
      res.end(err.text);
      return;
    }
    writeJson(res, err.code, err.body, err.headers);
  }

  private serveNonResource(url: URL, req: IncomingMessage, res: ServerResponse): boolean {
    const p = url.pathname.replace(/\/+$/, '') || '/';
    const reg = this.cluster.registry;
    const host = req.headers.host ?? '127.0.0.1';
    const json = (body: JsonObject | undefined) => {
      if (body) writeJson(res, 200, body);
      else notFoundText(res);
      return true;
    };
    if (p === '/healthz' || p === '/livez' || p === '/readyz') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('ok');
      return true;
    }
    if (p === '/version') return json(versionDoc(this.opts.version));
    if (p === '/api') return json(coreVersions(host));
    if (p === '/apis') return json(groupList(reg));
    if (p === '/openapi/v3') return json(openApiV3Root(reg, this.opts.version));
    if (p === '/openapi/v2') {
      // Only v3 is modelled; kubectl falls back to its compiled-in types.
      notFoundText(res);
      return true;
    }
    const v3 = /^\/openapi\/v3\/(?:api\/v1|apis\/([^/]+)\/([^/]+))$/.exec(p);
    if (v3) return json(openApiV3Doc(reg, v3[1] ?? '', v3[2] ?? 'v1', this.opts.version));
    const segs = p.split('/').filter(Boolean);
    if (segs[0] === 'api' && segs.length === 2)
      return json(resourceList(reg, '', segs[1] ?? '', minorOf(this.opts.version)));
    if (segs[0] === 'apis' && segs.length === 2) return json(group(reg, segs[1] ?? ''));
    if (segs[0] === 'apis' && segs.length === 3)
      return json(resourceList(reg, segs[1] ?? '', segs[2] ?? '', minorOf(this.opts.version)));
    return false;
  }

  private async serveResource(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    rp: ResourcePath,
    t: ResourceType,
    record: RequestRecord,
  ): Promise<void> {
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    const isWatch = q.get('watch') === 'true' || q.get('watch') === '1';
    const verb: Verb | undefined =
      method === 'GET'
        ? isWatch
          ? 'watch'
          : rp.name
            ? 'get'
            : 'list'
        : method === 'POST'
          ? 'create'
          : method === 'PUT'
            ? 'update'
            : method === 'PATCH'
              ? 'patch'
              : method === 'DELETE'
                ? rp.name
                  ? 'delete'
                  : 'deletecollection'
                : undefined;
    Object.assign(record, {
      verb,
      group: rp.group,
      resource: rp.resource,
      subresource: rp.subresource,
      namespace: rp.namespace,
      name: rp.name,
    });
    const gr = { group: t.group, resource: t.plural };
    if (!verb) throw errors.methodNotSupported(gr, method.toLowerCase());
    if ((verb === 'create' && rp.name) || ((verb === 'update' || verb === 'patch') && !rp.name)) {
      throw errors.methodNotSupported(gr, verb);
    }
    if (!t.verbs.includes(verb)) throw errors.methodNotSupported(gr, verb);
    if (t.namespaced && !rp.namespace && rp.name) {
      notFoundText(res);
      return;
    }
    if (!acceptable(req.headers.accept ?? '')) throw errors.notAcceptable();

    const info: RequestInfo = {
      verb,
      group: rp.group,
      version: rp.version,
      resource: rp.resource,
      subresource: rp.subresource,
      namespace: rp.namespace,
      name: rp.name,
      userAgent: req.headers['user-agent'] ?? '',
    };
    const fault = this.faults.take(info);
    if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault?.failure) {
      if (verb === 'watch' && fault.failure.code === 410) {
        this.cluster.watches.expireNextWatches(1);
      } else {
        throw failureError(fault.failure, info);
      }
    }

    const target: Target = {
      type: t,
      version: rp.version,
      namespace: t.namespaced ? rp.namespace : undefined,
      name: rp.name,
      subresource: rp.subresource,
    };
    const accept = req.headers.accept ?? '';
    const include = (q.get('includeObject') as IncludeObject | null) ?? 'Metadata';
    const rest = this.cluster.rest;
    const listQuery: ListQuery = {
      labelSelector: q.get('labelSelector') ?? undefined,
      fieldSelector: q.get('fieldSelector') ?? undefined,
      limit: q.get('limit') ? Number(q.get('limit')) : undefined,
      continue: q.get('continue') ?? undefined,
    };

    if (verb === 'watch') {
      if (rp.name)
        listQuery.fieldSelector = [listQuery.fieldSelector, `metadata.name=${rp.name}`]
          .filter(Boolean)
          .join(',');
      const selectors = rest.parseSelectors(t, listQuery);
      const table = wantsTable(accept);
      this.cluster.watches.serve(req, res, {
        type: t,
        version: rp.version,
        namespace: target.namespace,
        selectors,
        resourceVersion: q.get('resourceVersion') ?? undefined,
        timeoutSeconds: q.get('timeoutSeconds') ? Number(q.get('timeoutSeconds')) : undefined,
        allowBookmarks: q.get('allowWatchBookmarks') === 'true',
        render: (stored) => {
          const view = rest.view(t, rp.version, stored);
          return table ? toTable(t, rp.version, [{ stored, view }], {}, include) : view;
        },
      });
      return;
    }
    if (verb === 'get' || verb === 'list') {
      if (verb === 'get') {
        const body = rest.get(target);
        if (wantsTable(accept) && !rp.subresource) {
          const stored = rest.getStored(t, target.namespace, rp.name ?? '');
          writeJson(
            res,
            200,
            toTable(
              t,
              rp.version,
              stored ? [{ stored, view: body }] : [],
              { resourceVersion: str((body.metadata as JsonObject).resourceVersion) ?? '' },
              include,
            ),
          );
        } else {
          writeJson(res, 200, body);
        }
        return;
      }
      const list = rest.list(target, listQuery);
      if (wantsTable(accept)) {
        const items = (list.items as JsonObject[]).map((view) => {
          const m = view.metadata as JsonObject;
          const stored = rest.getStored(t, str(m.namespace), str(m.name) ?? '') ?? view;
          return { stored, view: rest.view(t, rp.version, stored) };
        });
        writeJson(res, 200, toTable(t, rp.version, items, list.metadata as JsonObject, include));
      } else {
        writeJson(res, 200, list);
      }
      return;
    }

    const body = decodeBody(await readBody(req), req.headers['content-type'] ?? 'application/json');
    const fieldManager = q.get('fieldManager') ?? undefined;
    record.fieldManager = fieldManager;
    const dryRun = q.getAll('dryRun').includes('All');
    const fv = q.get('fieldValidation') ?? 'Warn';
    if (!['Ignore', 'Warn', 'Strict'].includes(fv)) {
      throw errors.badRequest(`fieldValidation parameter unsupported: ${fv}`);
    }
    const opts: WriteOptions = {
      manager: fieldManager ?? userAgentManager(req.headers['user-agent'] ?? ''),
      fieldManagerGiven: fieldManager !== undefined && fieldManager !== '',
      dryRun,
      fieldValidation: fv as FieldValidation,
      force: q.get('force') === 'true',
      warnings: [],
    };
    let result;
    if (verb === 'create') {
      result = rest.create(target, requireObject(body), opts);
    } else if (verb === 'update') {
      result = rest.update(target, requireObject(body), opts);
    } else if (verb === 'patch') {
      const pt = patchTypeOf(req.headers['content-type'] ?? '');
      if (!pt) throw unsupportedPatch(t);
      if (body === undefined) throw errors.badRequest('the body of the request was empty');
      result = rest.patch(target, pt, body, opts);
    } else {
      const del = deleteOptions(body, q);
      if (del.dryRun) opts.dryRun = true;
      result =
        verb === 'delete'
          ? rest.delete(target, del, opts)
          : rest.deleteCollection(target, listQuery, del, opts);
    }
    const headers: Record<string, string | string[]> = {};
    if (opts.warnings.length) headers.Warning = opts.warnings.map((w) => `299 - ${JSON.stringify(w)}`);
    writeJson(res, result.code, result.body, headers);
  }
}

function requireObject(body: unknown): JsonObject {
  if (!isObject(body)) throw errors.badRequest('the body of the request must be a JSON object');
  return body;
}

function deleteOptions(body: unknown, q: URLSearchParams): DeleteOptions & { dryRun?: boolean } {
  const b = isObject(body) ? body : {};
  const policy = str(b.propagationPolicy) ?? q.get('propagationPolicy') ?? undefined;
  let propagationPolicy: DeleteOptions['propagationPolicy'];
  if (policy === 'Background' || policy === 'Foreground' || policy === 'Orphan') propagationPolicy = policy;
  else if (policy !== undefined) {
    throw errors.badRequest(
      `propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`,
    );
  } else if (typeof b.orphanDependents === 'boolean')
    propagationPolicy = b.orphanDependents ? 'Orphan' : 'Background';
  const pre = isObject(b.preconditions) ? b.preconditions : {};
  const graceRaw =
    typeof b.gracePeriodSeconds === 'number' ? b.gracePeriodSeconds : q.get('gracePeriodSeconds');
  const grace = graceRaw === null || graceRaw === undefined ? undefined : Number(graceRaw);
  if (grace !== undefined && !Number.isInteger(grace)) {
    throw errors.badRequest(`gracePeriodSeconds: Invalid value: ${String(graceRaw)}: must be an integer`);
  }
  return {
    dryRun: Array.isArray(b.dryRun) && b.dryRun.includes('All'),
    propagationPolicy,
    ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}),
    preconditions: { uid: str(pre.uid), resourceVersion: str(pre.resourceVersion) },
  };
}

export function writeJson(
  res: ServerResponse,
  code: number,
  body: JsonObject,
  headers: Record<string, string | string[]> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    ...headers,
  });
  res.end(text);
}

export function notFoundText(res: ServerResponse): void {
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
  res.end('404 page not found\n');
}
