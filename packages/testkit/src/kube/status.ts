// Status bodies and messages shaped like the real apiserver's (k8s.io/apimachinery/pkg/api/errors and
// pkg/util/validation/field). Clients switch on `reason` and tests compare `message`, so the text is
// copied from the Go format strings rather than invented.
import type { JsonObject } from './json.ts';

export type FieldErrorType =
  | 'Required'
  | 'Invalid'
  | 'TypeInvalid'
  | 'NotSupported'
  | 'Forbidden'
  | 'Duplicate'
  | 'TooLong'
  | 'TooMany'
  | 'NotFound'
  | 'Internal';

/** A literal printed as-is (Go's `%#v` of values the fake cannot express as JSON, e.g. `0x0`). */
export interface GoLiteral {
  go: string;
}

export interface FieldError {
  type: FieldErrorType;
  field: string;
  /** Omitted for Required/Forbidden/TooLong/Internal, which never print a value. */
  value?: unknown;
  detail?: string;
  /** NotSupported: the allowed values, printed quoted. */
  supported?: string[];
}

const TYPE_TEXT: Record<FieldErrorType, [string, string]> = {
  Required: ['Required value', 'FieldValueRequired'],
  Invalid: ['Invalid value', 'FieldValueInvalid'],
  TypeInvalid: ['Invalid value', 'FieldValueTypeInvalid'],
  NotSupported: ['Unsupported value', 'FieldValueNotSupported'],
  Forbidden: ['Forbidden', 'FieldValueForbidden'],
  Duplicate: ['Duplicate value', 'FieldValueDuplicate'],
  TooLong: ['Too long', 'FieldValueTooLong'],
  TooMany: ['Too many', 'FieldValueTooMany'],
  NotFound: ['Not found', 'FieldValueNotFound'],
  Internal: ['Internal error', 'InternalError'],
};

/** Go's `%v`/`%q`/`%#v` as field.Error.ErrorBody applies them to the bad value. */
export function formatGoValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'object' && 'go' in v && typeof (v as GoLiteral).go === 'string')
    return (v as GoLiteral).go;
  if (Array.isArray(v)) return `[]interface {}{${v.map(formatGoValue).join(', ')}}`;
  const entries = Object.entries(v as Record<string, unknown>).map(
    ([k, x]) => `${JSON.stringify(k)}:${formatGoValue(x)}`,
  );
  return `map[string]interface {}{${entries.join(', ')}}`;
}

export function fieldErrorBody(e: FieldError): string {
  const [text] = TYPE_TEXT[e.type];
  let s: string;
  const omitValue = !('value' in e);
  if (
    omitValue ||
    e.type === 'Required' ||
    e.type === 'Forbidden' ||
    e.type === 'TooLong' ||
    e.type === 'Internal'
  ) {
    s = text;
  } else {
    s = `${text}: ${formatGoValue(e.value)}`;
  }
  let detail = e.detail ?? '';
  if (e.type === 'NotSupported' && e.supported && e.supported.length > 0) {
    detail = `supported values: ${e.supported.map((x) => JSON.stringify(x)).join(', ')}`;
  }
  if (detail) s += `: ${detail}`;
  return s;
}

export function fieldErrorString(e: FieldError): string {
  return `${e.field}: ${fieldErrorBody(e)}`;
}

/** An error the HTTP layer renders as a Status body with `code`. */
export class KubeError extends Error {
  readonly code: number;
  readonly body: JsonObject;
  readonly headers: Record<string, string>;
  /** Set when the real server answers with plain text instead of a Status (its HTTP filters do). */
  readonly text?: string;
  constructor(body: JsonObject, headers: Record<string, string> = {}, text?: string) {
    super(String(body.message ?? body.reason ?? 'error'));
    this.code = Number(body.code);
    this.body = body;
    this.headers = headers;
    this.text = text;
  }
}

/** group + plural, printed the way the apiserver prints a GroupResource (`widgets.example.com`, `pods`). */
export interface GroupResource {
  group: string;
  resource: string;
}
/** group + kind (`Widget.example.com`, `ConfigMap`). */
export interface GroupKind {
  group: string;
  kind: string;
}

export function grString(gr: GroupResource): string {
  return gr.group ? `${gr.resource}.${gr.group}` : gr.resource;
}
function gkString(gk: GroupKind): string {
  return gk.group ? `${gk.kind}.${gk.group}` : gk.kind;
}

export function statusBody(code: number, reason: string, message: string, details?: JsonObject): JsonObject {
  const body: JsonObject = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
  };
  if (details) body.details = details;
  body.code = code;
  return body;
}

function details(gr: { group: string }, kind: string, name?: string): JsonObject {
  const d: JsonObject = {};
  if (name !== undefined) d.name = name;
  if (gr.group) d.group = gr.group;
  d.kind = kind;
  return d;
}

export const errors = {
  notFound(gr: GroupResource, name: string): KubeError {
    return new KubeError(
      statusBody(404, 'NotFound', `${grString(gr)} "${name}" not found`, details(gr, gr.resource, name)),
    );
  },
  alreadyExists(gr: GroupResource, name: string): KubeError {
    return new KubeError(
      statusBody(
        409,
        'AlreadyExists',
        `${grString(gr)} "${name}" already exists`,
        details(gr, gr.resource, name),
      ),
    );
  },
  conflict(gr: GroupResource, name: string, why: string): KubeError {
    return new KubeError(
      statusBody(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${grString(gr)} "${name}": ${why}`,
        details(gr, gr.resource, name),
      ),
    );
  },
  staleUpdate(gr: GroupResource, name: string): KubeError {
    return errors.conflict(
      gr,
      name,
      'the object has been modified; please apply your changes to the latest version and try again',
    );
  },
  invalid(gk: GroupKind, name: string, errs: FieldError[]): KubeError {
    const causes = errs.map((e) => ({
      reason: TYPE_TEXT[e.type][1],
      message: fieldErrorBody(e),
      field: e.field,
    }));
    const strs = errs.map(fieldErrorString);
    const agg = strs.length === 1 ? strs[0] : `[${strs.join(', ')}]`;
    const d = details(gk, gk.kind, name);
    d.causes = causes;
    return new KubeError(statusBody(422, 'Invalid', `${gkString(gk)} "${name}" is invalid: ${agg}`, d));
  },
  forbidden(gr: GroupResource, name: string, why: string, causes?: JsonObject[]): KubeError {
    const d = details(gr, gr.resource, name);
    if (causes) d.causes = causes;
    return new KubeError(statusBody(403, 'Forbidden', `${grString(gr)} "${name}" is forbidden: ${why}`, d));
  },
  badRequest(message: string): KubeError {
    return new KubeError(statusBody(400, 'BadRequest', message));
  },
  methodNotSupported(gr: GroupResource, action: string): KubeError {
    return new KubeError(
      statusBody(
        405,
        'MethodNotAllowed',
        `${action} is not supported on resources of kind "${grString(gr)}"`,
        details(gr, gr.resource),
      ),
    );
  },
  unsupportedMediaType(accepted: string[]): KubeError {
    return new KubeError(
      statusBody(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
      ),
    );
  },
  notAcceptable(): KubeError {
    return new KubeError(
      statusBody(
        406,
        'NotAcceptable',
        'only the following media types are accepted: application/json, application/yaml',
      ),
    );
  },
  expired(message: string): KubeError {
    return new KubeError(statusBody(410, 'Expired', message));
  },
  tooManyRequests(message: string, retryAfterSeconds: number): KubeError {
    return new KubeError(statusBody(429, 'TooManyRequests', message, { retryAfterSeconds }), {
      'Retry-After': String(retryAfterSeconds),
    });
  },
  /**
   * The overload answer of the max-in-flight and priority-and-fairness filters: plain text
   * (`http.Error`), not a Status, with Retry-After.
   */
  throttled(retryAfterSeconds: number): KubeError {
    const message = 'Too many requests, please try again later.';
    return new KubeError(
      statusBody(429, 'TooManyRequests', message),
      { 'Retry-After': String(retryAfterSeconds) },
      `${message}\n`,
    );
  },
  internal(message: string): KubeError {
    return new KubeError(
      statusBody(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] }),
    );
  },
  unauthorized(): KubeError {
    return new KubeError(statusBody(401, 'Unauthorized', 'Unauthorized'));
  },
  /** The generic 422 a failed JSON-patch operation produces (NewGenericServerResponse). */
  patchRejected(serverMessage: string): KubeError {
    return new KubeError(
      statusBody(422, 'Invalid', 'the server rejected our request due to an error in our request', {
        causes: [{ reason: 'UnexpectedServerResponse', message: serverMessage }],
      }),
    );
  },
};

export function successStatus(gr: GroupResource, name: string, uid: string): JsonObject {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { ...details(gr, gr.resource, name), uid },
  };
}
