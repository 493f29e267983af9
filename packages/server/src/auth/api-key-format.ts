import { createHash, randomBytes } from 'node:crypto';
import { MAX_CREDENTIAL_BYTES } from '@agenttier/contract';

/** Every key starts with this, so secret scanners and people can tell what it is. */
export const API_KEY_PREFIX = 'atk_';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 32 random bytes need 43 base62 digits (62^43 > 2^256); shorter encodings are left-padded. */
const BODY_LENGTH = 43;
export const API_KEY_RE = /^atk_[0-9A-Za-z]{43}$/;

/** A new key: `atk_` + 32 random bytes in base62. Shown once; only its hash is kept. */
export function generateApiKey(): string {
  let n = BigInt(`0x${randomBytes(32).toString('hex')}`);
  let body = '';
  while (n > 0n) {
    body = BASE62[Number(n % 62n)]! + body;
    n /= 62n;
  }
  return API_KEY_PREFIX + body.padStart(BODY_LENGTH, '0');
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'latin1').digest('hex');
}

/** A short public id for listing and revoking. */
export function newKeyId(): string {
  return `key_${randomBytes(8).toString('hex')}`;
}

/** What a request presented: nothing, or one credential string (not yet checked). */
export type PresentedCredential =
  | { kind: 'none' }
  | { kind: 'api-key'; value: string }
  | { kind: 'bearer'; value: string }
  | { kind: 'malformed'; reason: string };

function single(v: string | string[] | undefined): string | undefined | false {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return v.length === 1 ? v[0] : false;
  return v;
}

/**
 * The credential in `X-API-Key` or `Authorization: Bearer …`. Anything odd (both headers, a repeated
 * header, over 8 KiB, bytes outside printable ASCII, another scheme) is `malformed`: answered 401 by
 * the caller, never parsed further.
 */
export function presentedCredential(
  headers: Record<string, string | string[] | undefined>,
): PresentedCredential {
  const apiKey = single(headers['x-api-key']);
  const authz = single(headers.authorization);
  if (apiKey === false || authz === false)
    return { kind: 'malformed', reason: 'the credential header is repeated' };
  if (apiKey !== undefined && authz !== undefined)
    return { kind: 'malformed', reason: 'send one credential: X-API-Key or Authorization, not both' };
  const raw = apiKey ?? authz;
  if (raw === undefined || raw === '') return { kind: 'none' };
  if (raw.length > MAX_CREDENTIAL_BYTES)
    return { kind: 'malformed', reason: `the credential is longer than ${MAX_CREDENTIAL_BYTES} bytes` };
  // Node hands header bytes over as latin1: anything outside printable ASCII (and the space of the scheme).
  if (!/^[\x20-\x7e]+$/.test(raw))
    return { kind: 'malformed', reason: 'the credential has bytes outside printable ASCII' };
  if (apiKey !== undefined) return { kind: 'api-key', value: apiKey.trim() };
  const m = /^Bearer +(\S+) *$/i.exec(raw);
  if (!m) return { kind: 'malformed', reason: 'Authorization must be "Bearer <key>"' };
  return m[1]!.startsWith(API_KEY_PREFIX)
    ? { kind: 'api-key', value: m[1]! }
    : { kind: 'bearer', value: m[1]! };
}
