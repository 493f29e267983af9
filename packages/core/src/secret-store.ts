/** A stored secret without its values: what the API shows and lists. */
export interface SecretMeta {
  /** The user id whose secret it is: only that user's sandboxes can use it. */
  owner: string;
  namespace: string;
  name: string;
  /** Sorted. */
  keys: string[];
  createdAt: string;
  updatedAt: string;
}

/**
 * Per-user secrets (local platform). A secret is found by owner, namespace and name together: a lookup
 * never crosses users, so a sandbox can only ever be given its owner's secrets. Values leave the store
 * only through `values`, which the runtime calls when it starts a container.
 */
export interface SecretStore {
  /** Creates or replaces the secret (every key); `created` says which. */
  put(
    owner: string,
    namespace: string,
    name: string,
    values: ReadonlyMap<string, Uint8Array>,
  ): Promise<{ created: boolean; meta: SecretMeta }>;
  get(owner: string, namespace: string, name: string): Promise<SecretMeta | undefined>;
  /** The owner's secrets, in one namespace or all. */
  list(owner: string, namespace?: string): Promise<SecretMeta[]>;
  count(owner: string): Promise<number>;
  delete(owner: string, namespace: string, name: string): Promise<boolean>;
  /** The values, for injection at start only (never for an API answer). */
  values(owner: string, namespace: string, name: string): Promise<Map<string, Uint8Array> | undefined>;
}
