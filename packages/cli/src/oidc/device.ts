import type { ProviderMetadata } from './discovery.ts';
import { oidcFail, requireSafeUrl } from './discovery.ts';
import type { TokenSet } from './tokens.ts';
import { isTokenError, tokenRequest } from './tokens.ts';

export interface DeviceLoginOpts {
  meta: ProviderMetadata;
  clientId: string;
  scopes: string[];
  /** Shows where to go and the code to type (stderr). */
  show(prompt: { verificationUri: string; userCode: string; verificationUriComplete?: string }): void;
  signal: AbortSignal;
}

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** RFC 8628 §3.2: the interval when the provider names none, and what `slow_down` adds. */
const DEFAULT_INTERVAL_SEC = 5;
const SLOW_DOWN_SEC = 5;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(oidcFail('interrupted'));
    const onAbort = () => {
      clearTimeout(t);
      reject(oidcFail('interrupted'));
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The OAuth 2.0 device authorization grant (RFC 8628): the provider gives a code, the user confirms it
 * in a browser anywhere (another machine too: nothing listens here), and the CLI polls the token
 * endpoint at the provider's interval until the user has approved, declined, or the code expired.
 */
export async function oidcDeviceLogin(o: DeviceLoginOpts): Promise<TokenSet> {
  const endpoint = o.meta.device_authorization_endpoint;
  if (!endpoint) throw oidcFail('the provider offers no device authorization');
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ client_id: o.clientId, scope: o.scopes.join(' ') }),
    signal: o.signal,
  }).catch((err: unknown) => {
    throw oidcFail(`cannot reach the device authorization endpoint (${(err as Error).message})`);
  });
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok || typeof body.device_code !== 'string' || typeof body.user_code !== 'string')
    throw oidcFail(
      `the device authorization endpoint answered ${res.status} ${String(body.error ?? '')} ${String(body.error_description ?? '')}`.trim(),
    );
  const deviceCode = body.device_code;
  const verificationUri = requireSafeUrl('verification_uri', body.verification_uri);
  o.show({
    verificationUri,
    userCode: body.user_code,
    ...(typeof body.verification_uri_complete === 'string'
      ? {
          verificationUriComplete: requireSafeUrl(
            'verification_uri_complete',
            body.verification_uri_complete,
          ),
        }
      : {}),
  });
  let intervalSec = Number(body.interval) > 0 ? Number(body.interval) : DEFAULT_INTERVAL_SEC;
  const expiresInSec = Number(body.expires_in) > 0 ? Number(body.expires_in) : 600;
  const deadline = Date.now() + expiresInSec * 1000;
  for (;;) {
    await sleep(intervalSec * 1000, o.signal);
    const r = await tokenRequest(
      o.meta,
      { grant_type: DEVICE_GRANT, device_code: deviceCode, client_id: o.clientId },
      o.signal,
    );
    if (!isTokenError(r)) return r;
    switch (r.error) {
      case 'authorization_pending':
        break;
      case 'slow_down':
        intervalSec += SLOW_DOWN_SEC;
        break;
      case 'access_denied':
        throw oidcFail('the login was declined at the provider');
      case 'expired_token':
        throw oidcFail('the code expired before it was confirmed', 'Run `agenttier login --oidc` again');
      default:
        throw oidcFail(`the token endpoint answered ${r.status} ${r.error} ${r.description}`.trim());
    }
    if (Date.now() > deadline)
      throw oidcFail('the code expired before it was confirmed', 'Run `agenttier login --oidc` again');
  }
}
