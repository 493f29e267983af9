import { z } from 'zod';
import { LIMITS, utf8Bytes } from './limits.ts';

/**
 * The secret store's wire shapes (`/api/v1/secrets`). Values go in and never come out: every answer
 * carries names, keys and times only (docs/security.md, "Credentials").
 */

/**
 * A key of a secret: what Kubernetes allows in a Secret's data (so one spec works on both platforms),
 * which is also a safe file name (never "." or "..", no "/"). Keys mounted as environment variables
 * must also be variable names; that is checked where a credential says `mountAs: env`.
 */
export const SECRET_KEY_RE = /^[-._a-zA-Z0-9]+$/;
export const secretKeySchema = z
  .string()
  .min(1, { error: 'must not be empty' })
  .max(253, { error: 'must be at most 253 characters' })
  .regex(SECRET_KEY_RE, { error: 'must be letters, digits, "-", "_" and "."' })
  .refine((k) => k !== '.' && k !== '..', { error: 'must not be "." or ".."' });

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** `PUT /api/v1/secrets/{name}`: the whole secret (a PUT replaces every key). */
export const secretWriteRequestSchema = z
  .strictObject({
    /** Values as text (UTF-8). */
    stringData: z.record(secretKeySchema, z.string()).optional(),
    /** Values in base64 (binary files, as Kubernetes' `data`). */
    data: z
      .record(
        secretKeySchema,
        z.string().regex(BASE64_RE, { error: 'must be base64 (A-Z, a-z, 0-9, "+", "/", "=" padding)' }),
      )
      .optional(),
  })
  .superRefine((req, ctx) => {
    // Messages here never quote a value: they end up in error answers and logs.
    const text = Object.keys(req.stringData ?? {});
    const binary = Object.keys(req.data ?? {});
    const keys = [...text, ...binary];
    if (keys.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['stringData'],
        message: 'give at least one key in stringData or data',
      });
      return;
    }
    if (keys.length > LIMITS.secretKeysMax) {
      ctx.addIssue({
        code: 'custom',
        path: ['stringData'],
        message: `has ${keys.length} keys; a secret may have at most ${LIMITS.secretKeysMax}`,
      });
    }
    for (const k of text.filter((k) => binary.includes(k))) {
      ctx.addIssue({
        code: 'custom',
        path: ['data', k],
        message: 'is also in stringData; give each key once',
      });
    }
    let bytes = 0;
    for (const v of Object.values(req.stringData ?? {})) bytes += utf8Bytes(v);
    for (const v of Object.values(req.data ?? {})) bytes += Math.floor((v.length * 3) / 4);
    if (bytes > LIMITS.secretMaxBytes) {
      ctx.addIssue({
        code: 'custom',
        path: ['stringData'],
        message: `values are about ${bytes} bytes together; a secret may hold at most ${LIMITS.secretMaxBytes}`,
      });
    }
  });
export type SecretWriteRequest = z.input<typeof secretWriteRequestSchema>;

/** A secret as the API shows it: never a value. */
export interface SecretView {
  name: string;
  namespace: string;
  /** The keys, sorted. */
  keys: string[];
  /** Whose it is (the user id); only the owner's sandboxes can use it. */
  owner: string;
  createdAt: string;
  updatedAt: string;
}
