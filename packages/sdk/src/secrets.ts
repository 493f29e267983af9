import type { SecretView } from '@agenttier/contract';
import type { HttpClient } from './http.ts';
import { encodePath } from './http.ts';
import type { CallOpts } from './types.ts';

/** Base64 without Node's Buffer: the SDK also runs in browsers. */
function base64Of(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

export interface SecretCallOpts extends CallOpts {
  /** @default 'default' (list: every namespace) */
  namespace?: string;
}

export interface PutSecretInput {
  /** Values as text. */
  stringData?: Record<string, string>;
  /** Values as bytes (binary files); sent base64-encoded. */
  data?: Record<string, Uint8Array>;
}

/**
 * Your secrets on the local platform (`client.secrets`), for sandbox `credentials`. Values go in and
 * never come back: every answer has names and keys only. On Kubernetes the server answers 501
 * (NotImplemented); create Secrets with kubectl there.
 */
export class Secrets {
  /** @internal */
  constructor(private readonly http: HttpClient) {}

  /**
   * Creates or replaces one of your secrets (every key); `created` says which.
   * @example
   * ```ts
   * await client.secrets.put('github', { stringData: { TOKEN: process.env.GH_TOKEN! } });
   * await client.createSandbox({
   *   name: 'demo',
   *   template: 'general-coding',
   *   credentials: [{ secretName: 'github', envPrefix: 'GH_' }],
   * });
   * ```
   */
  async put(
    name: string,
    input: PutSecretInput,
    opts: SecretCallOpts = {},
  ): Promise<{ created: boolean; secret: SecretView }> {
    let created = false;
    const body = {
      ...(input.stringData ? { stringData: input.stringData } : {}),
      ...(input.data
        ? {
            data: Object.fromEntries(Object.entries(input.data).map(([k, v]) => [k, base64Of(v)])),
          }
        : {}),
    };
    const secret = await this.http.call(
      {
        method: 'PUT',
        path: `/api/v1/secrets/${encodePath(name)}`,
        query: { namespace: opts.namespace },
        json: body,
        signal: opts.signal,
      },
      async (res) => {
        created = res.status === 201;
        return (await res.json()) as SecretView;
      },
    );
    return { created, secret };
  }

  /** Your secrets (names and keys), in one namespace or all. */
  async list(opts: SecretCallOpts = {}): Promise<SecretView[]> {
    const res = await this.http.json<{ items?: SecretView[] | null }>({
      method: 'GET',
      path: '/api/v1/secrets',
      query: { namespace: opts.namespace },
      signal: opts.signal,
    });
    return res?.items ?? [];
  }

  /** One of your secrets (name and keys); NotFoundError when you have none of that name. */
  async get(name: string, opts: SecretCallOpts = {}): Promise<SecretView> {
    return this.http.json<SecretView>({
      method: 'GET',
      path: `/api/v1/secrets/${encodePath(name)}`,
      query: { namespace: opts.namespace },
      signal: opts.signal,
    });
  }

  /** Deletes one of your secrets; running sandboxes keep what they were given. */
  async delete(name: string, opts: SecretCallOpts = {}): Promise<void> {
    await this.http.json({
      method: 'DELETE',
      path: `/api/v1/secrets/${encodePath(name)}`,
      query: { namespace: opts.namespace },
      signal: opts.signal,
    });
  }
}
