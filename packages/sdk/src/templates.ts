import { NotFoundError } from './errors.ts';
import type { HttpClient, Query } from './http.ts';
import { encodePath } from './http.ts';
import type { ApplyTemplateInput, ApplyTemplateResult, CallOpts } from './types.ts';
import type { TemplateView } from '@agenttier/contract';

export interface TemplateCallOpts extends CallOpts {
  /** @default ClusterSandboxTemplate */
  kind?: 'ClusterSandboxTemplate' | 'SandboxTemplate';
  /** For namespaced `SandboxTemplate`s (list: adds that namespace's templates to the cluster ones). */
  namespace?: string;
}

/** Sandbox templates (`client.templates`). Writes need an administrator on multi-user servers. */
export class Templates {
  /** @internal */
  constructor(private readonly http: HttpClient) {}

  private query(opts: TemplateCallOpts): Query {
    return { kind: opts.kind, namespace: opts.namespace };
  }

  /**
   * Lists templates.
   * @example
   * ```ts
   * for (const t of await client.templates.list()) console.log(t.name, t.description);
   * ```
   */
  async list(opts: TemplateCallOpts = {}): Promise<TemplateView[]> {
    const res = await this.http.json<{ templates?: TemplateView[] | null }>({
      method: 'GET',
      path: '/api/v1/templates',
      query: { namespace: opts.namespace },
      signal: opts.signal,
    });
    return res?.templates ?? [];
  }

  /**
   * Gets one template; throws NotFoundError if it does not exist.
   * @example
   * ```ts
   * const t = await client.templates.get('general-coding');
   * console.log(t.spec.image?.repository);
   * ```
   */
  async get(name: string, opts: TemplateCallOpts = {}): Promise<TemplateView> {
    return this.http.json<TemplateView>({
      method: 'GET',
      path: `/api/v1/templates/${encodePath(name)}`,
      query: this.query(opts),
      signal: opts.signal,
    });
  }

  /**
   * Creates the template, or replaces its spec when it exists (`PUT`, falling back to `POST` on 404).
   * @example
   * ```ts
   * const { action } = await client.templates.apply({
   *   name: 'py',
   *   spec: { image: { repository: 'python:3.12' }, mode: 'code' },
   * });
   * console.log(action); // 'created' or 'updated'
   * ```
   */
  async apply(input: ApplyTemplateInput, opts: CallOpts = {}): Promise<ApplyTemplateResult> {
    const namespace = input.kind === 'SandboxTemplate' ? input.namespace : undefined;
    const query = input.kind === 'SandboxTemplate' ? { kind: input.kind, namespace } : {};
    const body = {
      name: input.name,
      ...(input.kind ? { kind: input.kind } : {}),
      ...(namespace ? { namespace } : {}),
      spec: input.spec,
    };
    try {
      let created = false;
      const template = await this.http.call(
        {
          method: 'PUT',
          path: `/api/v1/templates/${encodePath(input.name)}`,
          query,
          json: body,
          signal: opts.signal,
        },
        async (res) => {
          created = res.status === 201;
          const text = await res.text();
          return (text ? JSON.parse(text) : { name: input.name, spec: input.spec }) as TemplateView;
        },
      );
      return { action: created ? 'created' : 'updated', template };
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
    const template = await this.http.json<TemplateView>({
      method: 'POST',
      path: '/api/v1/templates',
      query,
      json: body,
      signal: opts.signal,
    });
    return { action: 'created', template };
  }

  /**
   * Deletes a template. Fails with ConflictError while a sandbox still uses it.
   * @example
   * ```ts
   * await client.templates.delete('py');
   * ```
   */
  async delete(name: string, opts: TemplateCallOpts = {}): Promise<void> {
    await this.http.json({
      method: 'DELETE',
      path: `/api/v1/templates/${encodePath(name)}`,
      query: this.query(opts),
      signal: opts.signal,
    });
  }
}
