import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProviderMetadata } from './discovery.ts';
import { oidcFail as fail } from './discovery.ts';
import type { TokenSet } from './tokens.ts';
import { isTokenError, tokenRequest } from './tokens.ts';

export interface LoopbackLoginOpts {
  meta: ProviderMetadata;
  clientId: string;
  scopes: string[];
  /** Shows the URL to open (stderr). */
  show(url: string): void;
  signal: AbortSignal;
  /** @default 300000 */
  timeoutMs?: number;
}

const b64url = (n: number) => randomBytes(n).toString('base64url');

const PAGE = (msg: string) =>
  `<!doctype html><meta charset="utf-8"><title>AgentTier login</title><p>${msg}</p>`;

/**
 * OAuth 2.0 for native apps (RFC 8252): authorization code + PKCE with the redirect to a port of
 * 127.0.0.1 that this process listens on for one callback. Returns the tokens.
 */
export async function oidcLoopbackLogin(o: LoopbackLoginOpts): Promise<TokenSet> {
  const disc = o.meta;
  if (!disc.authorization_endpoint) throw fail('the provider has no authorization endpoint');

  const state = b64url(32);
  const verifier = b64url(32);
  let redirectUri = '';
  let settle: (r: { code: string } | Error) => void = () => undefined;
  const result = new Promise<{ code: string } | Error>((resolve) => (settle = resolve));
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/callback') {
      res.writeHead(404).end();
      return;
    }
    // A page on another site could send the browser here with its own code: the state decides.
    if (url.searchParams.get('state') !== state) {
      res.writeHead(400, { 'content-type': 'text/html' }).end(PAGE('This login was not started here.'));
      return;
    }
    const error = url.searchParams.get('error');
    const code = url.searchParams.get('code');
    res
      .writeHead(error || !code ? 400 : 200, { 'content-type': 'text/html' })
      .end(PAGE(error || !code ? 'Login failed; see the terminal.' : 'Logged in. You can close this tab.'));
    settle(
      error || !code
        ? fail(
            `the provider answered ${error ?? 'without a code'}: ${url.searchParams.get('error_description') ?? ''}`,
          )
        : { code },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
    const auth = new URL(disc.authorization_endpoint);
    auth.search = new URLSearchParams({
      response_type: 'code',
      client_id: o.clientId,
      redirect_uri: redirectUri,
      scope: o.scopes.join(' '),
      state,
      nonce: b64url(16),
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      // OpenID Connect Core §11: a refresh token (offline_access) is granted only with consent asked.
      ...(o.scopes.includes('offline_access') ? { prompt: 'consent' } : {}),
    }).toString();
    o.show(auth.toString());
    const timer = setTimeout(
      () => settle(fail('no answer from the browser in time')),
      o.timeoutMs ?? 300_000,
    );
    const onAbort = () => settle(fail('interrupted'));
    o.signal.addEventListener('abort', onAbort, { once: true });
    const got = await result;
    clearTimeout(timer);
    o.signal.removeEventListener('abort', onAbort);
    if (got instanceof Error) throw got;
    const tokens = await tokenRequest(
      disc,
      {
        grant_type: 'authorization_code',
        code: got.code,
        redirect_uri: redirectUri,
        code_verifier: verifier,
        client_id: o.clientId,
      },
      o.signal,
    );
    if (isTokenError(tokens))
      throw fail(`the token endpoint answered ${tokens.status} ${tokens.error} ${tokens.description}`.trim());
    return tokens;
  } finally {
    server.closeAllConnections();
    server.close();
  }
}
