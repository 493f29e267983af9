// Fault injection for tests: fail the next N matching requests (409, 429 with Retry-After, 500,
// 410...), slow them down, drop or expire watches, compact history, and hold the controllers.
// These drive the informer restart/relist and retry paths, where real operators break.
import { errors, KubeError, statusBody } from './status.ts';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

/** What the fake knows about a request when matching faults. */
export interface RequestInfo {
  verb: Verb;
  group: string;
  version: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  userAgent: string;
}

export interface FaultMatch {
  verb?: Verb | Verb[];
  /** Plural resource name, e.g. `pods` or `sandboxes`. */
  resource?: string;
  group?: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  predicate?: (r: RequestInfo) => boolean;
}

export interface Failure {
  /** 409 Conflict, 429 TooManyRequests, 500 InternalError, 410 Expired (watch: an ERROR event), 503, ... */
  code: number;
  /** For 429/503: the Retry-After header. @default 1 */
  retryAfterSeconds?: number;
  message?: string;
  /**
   * 429 only: `text` is what an overloaded apiserver sends (plain text from its throttling
   * filters, no Status body); `status` is a TooManyRequests Status (e.g. an eviction blocked by a
   * PodDisruptionBudget). @default 'text'
   */
  format?: 'text' | 'status';
}

interface Rule {
  remaining: number;
  match: FaultMatch;
  failure?: Failure;
  delayMs?: number;
}

export function matchesFault(m: FaultMatch, r: RequestInfo): boolean {
  if (m.verb && !(Array.isArray(m.verb) ? m.verb : [m.verb]).includes(r.verb)) return false;
  if (m.resource !== undefined && m.resource !== r.resource) return false;
  if (m.group !== undefined && m.group !== r.group) return false;
  if (m.namespace !== undefined && m.namespace !== r.namespace) return false;
  if (m.name !== undefined && m.name !== r.name) return false;
  if (m.subresource !== undefined && m.subresource !== r.subresource) return false;
  return !m.predicate || m.predicate(r);
}

export function failureError(f: Failure, r: RequestInfo): KubeError {
  const gr = { group: r.group, resource: r.resource };
  const msg = f.message;
  switch (f.code) {
    case 409:
      return msg ? errors.conflict(gr, r.name ?? '', msg) : errors.staleUpdate(gr, r.name ?? '');
    case 429:
      if ((f.format ?? 'text') === 'text' && msg === undefined)
        return errors.throttled(f.retryAfterSeconds ?? 1);
      return errors.tooManyRequests(
        msg ?? 'the server has received too many requests and has asked us to try again later',
        f.retryAfterSeconds ?? 1,
      );
    case 500:
      return errors.internal(msg ?? 'injected fault');
    case 410:
      return errors.expired(msg ?? 'too old resource version');
    case 503:
      return new KubeError(
        statusBody(503, 'ServiceUnavailable', msg ?? 'the server is currently unable to handle the request', {
          retryAfterSeconds: f.retryAfterSeconds ?? 1,
        }),
        { 'Retry-After': String(f.retryAfterSeconds ?? 1) },
      );
    default:
      return new KubeError(statusBody(f.code, 'Unknown', msg ?? `injected ${f.code}`));
  }
}

export class FaultRules {
  private rules: Rule[] = [];

  add(rule: Rule): void {
    this.rules.push(rule);
  }

  /** Consumes and returns the first matching rule's effect. */
  take(r: RequestInfo): { failure?: Failure; delayMs?: number } | undefined {
    const rule = this.rules.find((x) => x.remaining > 0 && matchesFault(x.match, r));
    if (!rule) return undefined;
    rule.remaining--;
    this.rules = this.rules.filter((x) => x.remaining > 0);
    return { failure: rule.failure, delayMs: rule.delayMs };
  }

  clear(): void {
    this.rules = [];
  }
}
