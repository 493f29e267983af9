import { z } from 'zod';
import { ERROR_STATUS } from './errors.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One REST operation as the server registers it, with the zod schema it validates its body with. */
export interface ApiOperation {
  method: HttpMethod;
  /** OpenAPI form: `/api/v1/sandboxes/{id}`; `{path}` stands for a trailing wildcard (a file path). */
  path: string;
  summary: string;
  tag: string;
  /** JSON body schema (the one the route parses with). */
  body?: z.ZodType;
  /** A body that is not JSON (a file upload): its media type. */
  rawBody?: string;
  /** Query parameters the route reads. */
  query?: Record<string, string>;
  /**
   * Success status and what it returns: `schema` is the JSON body's; `jsonAlternative` the schema of a
   * JSON answer the route gives instead of its `contentType` for some requests (a directory listing).
   */
  success: {
    status: number;
    description: string;
    contentType?: string;
    schema?: z.ZodType;
    jsonAlternative?: z.ZodType;
  };
}

const errorBodySchema = {
  type: 'object',
  required: ['error', 'code', 'message'],
  properties: {
    error: { type: 'string', description: 'human text (the seed product reads this field)' },
    code: { type: 'string', enum: Object.keys(ERROR_STATUS), description: 'switch on this (docs/errors.md)' },
    message: { type: 'string' },
    requestId: { type: 'string', description: 'the X-Request-ID of the request' },
    details: {
      type: 'array',
      items: {
        type: 'object',
        required: ['field', 'rule', 'message'],
        properties: { field: { type: 'string' }, rule: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
} as const;

function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  // Refinements (name rules, quantities, limits) are not representable; the route still enforces them.
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' });
  delete (out as { $schema?: unknown }).$schema;
  return out as Record<string, unknown>;
}

/**
 * An OpenAPI 3.1 document (JSON Schema 2020-12 for bodies) built from the same zod schemas the routes
 * validate with, so the document and the validation cannot drift apart.
 */
export function openApiDocument(opts: {
  title: string;
  version: string;
  description?: string;
  operations: readonly ApiOperation[];
}): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of opts.operations) {
    const params = [...op.path.matchAll(/\{([a-zA-Z]+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const query = Object.entries(op.query ?? {}).map(([name, description]) => ({
      name,
      in: 'query',
      required: false,
      description,
      schema: { type: 'string' },
    }));
    const success = {
      description: op.success.description,
      ...(op.success.status === 204
        ? {}
        : {
            content: {
              [op.success.contentType ?? 'application/json']: {
                schema: op.success.schema ? jsonSchemaOf(op.success.schema, 'output') : {},
              },
              ...(op.success.jsonAlternative
                ? { 'application/json': { schema: jsonSchemaOf(op.success.jsonAlternative, 'output') } }
                : {}),
            },
          }),
    };
    paths[op.path] ??= {};
    paths[op.path]![op.method.toLowerCase()] = {
      summary: op.summary,
      tags: [op.tag],
      operationId: `${op.method.toLowerCase()} ${op.path}`,
      ...(params.length || query.length ? { parameters: [...params, ...query] } : {}),
      ...(op.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: jsonSchemaOf(op.body) } },
            },
          }
        : op.rawBody
          ? { requestBody: { required: true, content: { [op.rawBody]: { schema: {} } } } }
          : {}),
      responses: {
        [String(op.success.status)]: success,
        default: {
          description: 'an error in the one shape; the status comes from the code (docs/errors.md)',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: opts.title,
      version: opts.version,
      ...(opts.description ? { description: opts.description } : {}),
    },
    paths,
    components: { schemas: { Error: errorBodySchema } },
  };
}
