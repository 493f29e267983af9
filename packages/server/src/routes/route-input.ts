/**
 * What each route reads from its URL, declared once as Fastify route generics
 * (`app.get<SandboxRoute>(…)`), so handlers and the helpers they call get typed `req.params` and
 * `req.query` instead of casting. Path parameters are always strings (Fastify fills them from the
 * URL). Query values are the strings a route expects; the ones that must be a single well-formed
 * value are still checked where they are read (`namespaceOf`, `queryPath`, the number parsers), so a
 * repeated key or a bad value gets the same 400 as before. The OpenAPI document lists the same query
 * parameters (openapi.ts).
 */

/** The query parameters a route reads, each optional. */
export type QueryOf<K extends string> = { [P in K]?: string };

/** Every sandbox route: `/api/v1/sandboxes/:id…`, in `?namespace=` (default `default`). */
export interface SandboxRoute<Q extends string = never> {
  Params: { id: string };
  Querystring: QueryOf<'namespace' | Q>;
}

/** What the shared lookups (`sandboxdOf`, the data plane's `running`) need of a request. */
export interface SandboxRequest {
  params: { id: string };
  query: QueryOf<'namespace'>;
}

/** `/api/v1/sandboxes/:id/processes/:pid…` */
export interface ProcessRoute<Q extends string = never> {
  Params: { id: string; pid: string };
  Querystring: QueryOf<'namespace' | Q>;
}

/** `/api/v1/sandboxes/:id/invokes/:invokeId…` */
export interface InvokeRoute<Q extends string = never> {
  Params: { id: string; invokeId: string };
  Querystring: QueryOf<'namespace' | Q>;
}

/** `/api/v1/sandboxes/:id/ports/:port` (a number or a forward's name). */
export interface PortRoute {
  Params: { id: string; port: string };
  Querystring: QueryOf<'namespace'>;
}

/** `/api/v1/sandboxes/:id/files/*`: the wildcard is the file path without its leading slash. */
export interface FileRoute<Q extends string = never> {
  Params: { id: string; '*': string };
  Querystring: QueryOf<'namespace' | Q>;
}

/** `/api/v1/templates/:name`, in `?namespace=` for a namespaced template, `?kind=`. */
export interface TemplateRoute {
  Params: { name: string };
  Querystring: QueryOf<'namespace' | 'kind'>;
}

/** A route without path parameters that reads these query parameters. */
export interface QueryRoute<Q extends string> {
  Querystring: QueryOf<Q>;
}

/**
 * One string field of a request's params or query where the route is not known statically (the guard
 * chain and the audit hook run for every route): checked, not cast.
 */
export function stringField(obj: unknown, name: string): string | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const value: unknown = Reflect.get(obj, name);
  return typeof value === 'string' ? value : undefined;
}
