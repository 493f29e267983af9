import { z } from 'zod';

/** `GET /api/v1/user/me`: who the server takes the caller to be. */
export interface UserInfo {
  id: string;
  email?: string;
  name?: string;
  groups: string[];
  isAdmin: boolean;
}

/** An API key as listed: never the key itself, which is shown once, in the create response. */
export interface ApiKeyView {
  id: string;
  name: string;
  owner: { id: string; email?: string; name?: string };
  isAdmin: boolean;
  createdAt: string;
  lastUsedAt?: string;
  expiresAt?: string;
}

/** The create response: the view plus the key, the only time it is ever shown. */
export interface CreatedApiKey extends ApiKeyView {
  key: string;
}

/** Longest a key may live: ten years (keys without an expiry never expire). */
export const MAX_API_KEY_DAYS = 3650;

const userIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._@+-]+$/, 'letters, digits and . _ @ + -');

export const createApiKeyRequestSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[\x20-\x7e]+$/, 'printable ASCII'),
  /** Days until the key stops working; absent: never. */
  expiresInDays: z.number().int().min(1).max(MAX_API_KEY_DAYS).optional(),
  /** Admins only: issue the key to another user (who the key then acts as). */
  user: z
    .strictObject({
      id: userIdSchema,
      email: z.string().max(254).optional(),
      name: z.string().max(128).optional(),
      groups: z.array(z.string().min(1).max(128)).max(64).optional(),
      isAdmin: z.boolean().optional(),
    })
    .optional(),
});
export type CreateApiKeyRequest = z.infer<typeof createApiKeyRequestSchema>;
