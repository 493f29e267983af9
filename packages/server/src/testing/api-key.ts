import type { ApiKeyStore } from '@agenttier/core';
import { generateApiKey, hashApiKey, newKeyId } from '../auth/api-key-format.ts';

export interface InsertApiKeyOpts {
  isAdmin?: boolean;
  /** The key's display name. @default the owner id */
  name?: string;
  /** The key itself, when the test made it already. @default a new one */
  key?: string;
  /** When it was made, for tests with their own clock. @default now */
  createdAtMs?: number;
  /** ISO time it stops working. @default never */
  expiresAt?: string;
}

/**
 * Inserts an API key for user `ownerId` (no groups) straight into the store, as `agenttier key create`
 * would have; returns the key and its id.
 */
export async function insertApiKey(
  keys: Pick<ApiKeyStore, 'insert'>,
  ownerId: string,
  opts: InsertApiKeyOpts = {},
): Promise<{ key: string; keyId: string }> {
  const key = opts.key ?? generateApiKey();
  const keyId = newKeyId();
  await keys.insert({
    id: keyId,
    name: opts.name ?? ownerId,
    hash: hashApiKey(key),
    owner: { id: ownerId, groups: [], isAdmin: opts.isAdmin ?? false },
    createdAt: new Date(opts.createdAtMs ?? Date.now()).toISOString(),
    ...(opts.expiresAt ? { expiresAt: opts.expiresAt } : {}),
  });
  return { key, keyId };
}
