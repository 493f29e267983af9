/**
 * OIDC bearer tokens against a real OpenID provider (`oidc-provider`, certified) on loopback: real
 * client-credentials access tokens pass, key rotation is followed, and crafted hostile tokens (no
 * signature, HMAC keyed with the public key, expired, not yet valid, wrong audience or issuer, an
 * unknown key) are refused. The router is the real app (app.inject) on in-memory SQLite.
 */
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SignJWT, base64url, exportJWK, exportSPKI, importJWK } from 'jose';
import type { FastifyInstance } from 'fastify';
import type { TestOidcProvider, TestSigningKey } from '@agenttier/testkit/oidc';
import { newSigningKey, startTestOidcProvider } from '@agenttier/testkit/oidc';
import { createBearerAuthenticator } from './bearer-auth.ts';
import type { OidcVerifier } from './oidc-verifier.ts';
import { createOidcVerifier } from './oidc-verifier.ts';
import { SqliteApiKeyStore } from './sqlite-api-keys.ts';
import { seededStore } from '../testing/seeded-store.ts';
import { createBareApp } from '../testing/bare-app.ts';

const AUD = 'https://agenttier.test/api';
let k1: TestSigningKey;
let k2: TestSigningKey;
/** Published without `alg` (as many providers do): only the router's allow-list limits its algorithms. */
let k3: TestSigningKey;
let idp: TestOidcProvider;
let app: FastifyInstance;
let keys: SqliteApiKeyStore;
let verifier: OidcVerifier;
let clockMs: number;

beforeAll(async () => {
  k1 = await newSigningKey('RS256', 'key-1');
  k2 = await newSigningKey('ES256', 'key-2');
  const rsa = await newSigningKey('RS256', 'key-3');
  const { alg: _alg, ...noAlg } = rsa.jwk;
  k3 = { ...rsa, jwk: noAlg, privateKey: (await importJWK(noAlg, 'PS256')) as typeof rsa.privateKey };
  idp = await startTestOidcProvider({
    audience: AUD,
    keys: [k1, k3],
    clients: [
      {
        client_id: 'ci-admin',
        client_secret: 'ci-admin-secret',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
      },
      {
        client_id: 'ci-user',
        client_secret: 'ci-user-secret',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
      },
    ],
    clientGroups: { 'ci-admin': ['agenttier-admins', 'ci'], 'ci-user': ['ci'] },
  });
});
afterAll(async () => idp.close());

async function buildApp(issuer: string, fetchTimeoutMs = 5000): Promise<void> {
  const store = await seededStore();
  keys = new SqliteApiKeyStore(':memory:');
  verifier = createOidcVerifier(
    {
      issuer,
      audience: [AUD],
      adminGroup: 'agenttier-admins',
      jwksRefetchIntervalMs: 10_000,
      fetchTimeoutMs,
    },
    { nowMs: () => clockMs },
  );
  app = createBareApp(store, {
    apiKeys: keys,
    bearer: createBearerAuthenticator({ oidc: verifier }),
    keyAuth: { failureBurst: 1000 },
  });
  await app.ready();
}

beforeEach(async () => {
  clockMs = Date.now();
  idp.rotate([k1, k3]);
  await buildApp(idp.issuer);
});
afterEach(async () => {
  await app.close();
  keys.close();
});

const me = (token: string) =>
  app.inject({ method: 'GET', url: '/api/v1/user/me', headers: { authorization: `Bearer ${token}` } });

/** A token signed with `key` (by default the provider's own key-1) with these claims over sane defaults. */
async function craft(
  claims: Record<string, unknown>,
  opts: { key?: TestSigningKey; header?: Record<string, unknown> } = {},
): Promise<string> {
  const key = opts.key ?? k1;
  const nowSec = Math.floor(clockMs / 1000);
  return new SignJWT({ sub: 'mallory', groups: ['agenttier-admins'], ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...opts.header } as never)
    .setIssuer((claims.iss as string | undefined) ?? idp.issuer)
    .setAudience((claims.aud as string | undefined) ?? AUD)
    .setIssuedAt((claims.iat as number | undefined) ?? nowSec)
    .setExpirationTime((claims.exp as number | undefined) ?? nowSec + 300)
    .sign(key.privateKey);
}

function expect401(r: { statusCode: number; json: () => { code: string; message: string } }, msg?: RegExp) {
  expect([r.statusCode, r.json().code], r.json().message).toEqual([401, 'UNAUTHENTICATED']);
  if (msg) expect(r.json().message).toMatch(msg);
}

describe('tokens from the provider', () => {
  it('a client-credentials access token authenticates; the admin group makes an admin', async () => {
    const admin = await me(await idp.clientCredentialsToken('ci-admin', 'ci-admin-secret'));
    expect(admin.statusCode, admin.body).toBe(200);
    expect(admin.json()).toMatchObject({ id: 'ci-admin', groups: ['agenttier-admins', 'ci'], isAdmin: true });
    const user = await me(await idp.clientCredentialsToken('ci-user', 'ci-user-secret'));
    expect(user.json()).toMatchObject({ id: 'ci-user', groups: ['ci'], isAdmin: false });
  });

  it('an OIDC user owns what it creates and cannot see what another identity owns', async () => {
    const token = await idp.clientCredentialsToken('ci-user', 'ci-user-secret');
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/sandboxes',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'ci-box', template: 'general-coding' }),
    });
    expect(created.statusCode, created.body).toBe(201);
    const other = await idp.clientCredentialsToken('ci-admin', 'ci-admin-secret');
    const mine = await app.inject({
      method: 'GET',
      url: '/api/v1/sandboxes/ci-box',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(mine.statusCode).toBe(200);
    // ci-admin is an admin through its group, so it may see it; a crafted non-admin may not (below).
    expect(
      (
        await app.inject({
          method: 'GET',
          url: '/api/v1/sandboxes/ci-box',
          headers: { authorization: `Bearer ${other}` },
        })
      ).statusCode,
    ).toBe(200);
  });

  it('follows key rotation: a token with a new kid refetches the JWKS once and passes', async () => {
    expect((await me(await idp.clientCredentialsToken('ci-user', 'ci-user-secret'))).statusCode).toBe(200);
    const before = verifier.jwksFetches;
    idp.rotate([k2, k1, k3]);
    clockMs += 10_001; // past the refetch interval since the first fetch
    const rotated = await idp.clientCredentialsToken('ci-user', 'ci-user-secret');
    const r = await me(rotated);
    expect(r.statusCode, r.body).toBe(200);
    expect(verifier.jwksFetches).toBe(before + 1);
    // A token of the old key (still published) keeps working without another fetch.
    expect((await me(await craft({ sub: 'ci-user', groups: [] }))).statusCode).toBe(200);
    expect(verifier.jwksFetches).toBe(before + 1);
  });

  it('an unknown kid is refused after one refetch, and made-up kids cannot hammer the JWKS', async () => {
    expect((await me(await idp.clientCredentialsToken('ci-user', 'ci-user-secret'))).statusCode).toBe(200);
    const stranger = await newSigningKey('RS256', 'not-published');
    const fetchesBefore = verifier.jwksFetches;
    clockMs += 10_001;
    expect401(await me(await craft({}, { key: stranger })), /does not publish/);
    expect(verifier.jwksFetches).toBe(fetchesBefore + 1);
    for (let i = 0; i < 50; i++) {
      const other = await newSigningKey('ES256', `made-up-${i}`);
      expect401(await me(await craft({}, { key: other })));
    }
    expect(verifier.jwksFetches).toBe(fetchesBefore + 1); // all within the refetch interval
  });
});

describe('hostile tokens', () => {
  it('refuses alg "none" (no signature)', async () => {
    const nowSec = Math.floor(clockMs / 1000);
    const enc = (o: unknown) => base64url.encode(JSON.stringify(o));
    const unsigned = `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ iss: idp.issuer, aud: AUD, sub: 'mallory', groups: ['agenttier-admins'], iat: nowSec, exp: nowSec + 300 })}.`;
    expect401(await me(unsigned));
    expect401(await me(`${unsigned.slice(0, -1)}.c2ln`));
  });

  it('refuses HS256 keyed with the provider public key (PEM, JWK, or modulus)', async () => {
    const nowSec = Math.floor(clockMs / 1000);
    const pem = await exportSPKI(k1.publicKey);
    const jwk = JSON.stringify(await exportJWK(k1.publicKey));
    for (const secret of [pem, jwk, (await exportJWK(k1.publicKey)).n!]) {
      const forged = await new SignJWT({ sub: 'mallory', groups: ['agenttier-admins'] })
        .setProtectedHeader({ alg: 'HS256', kid: k1.kid })
        .setIssuer(idp.issuer)
        .setAudience(AUD)
        .setIssuedAt(nowSec)
        .setExpirationTime(nowSec + 300)
        .sign(new TextEncoder().encode(secret));
      expect401(await me(forged));
    }
  });

  it('refuses expired tokens beyond the 30 s clock skew, accepts within it', async () => {
    const nowSec = Math.floor(clockMs / 1000);
    expect401(await me(await craft({ iat: nowSec - 600, exp: nowSec - 120 })), /expired/);
    expect((await me(await craft({ iat: nowSec - 600, exp: nowSec - 10 }))).statusCode).toBe(200);
  });

  it('a verified token is not accepted past its expiry because it was seen before', async () => {
    const nowSec = Math.floor(clockMs / 1000);
    const token = await craft({ exp: nowSec + 5 });
    expect((await me(token)).statusCode).toBe(200);
    expect((await me(token)).statusCode).toBe(200); // from the cache
    clockMs += 36_000; // past exp + 30 s skew, inside the cache's minute
    expect401(await me(token), /expired/);
  });

  it('refuses tokens not yet valid (nbf) beyond the skew', async () => {
    const nowSec = Math.floor(clockMs / 1000);
    expect401(await me(await craft({ nbf: nowSec + 120 })), /nbf/);
    expect((await me(await craft({ nbf: nowSec + 10 }))).statusCode).toBe(200);
  });

  it('refuses another audience and another issuer, even signed with the provider key', async () => {
    expect401(await me(await craft({ aud: 'https://other-api.test' })), /aud/);
    expect401(await me(await craft({ iss: 'https://evil.example' })), /iss/);
    expect401(await me(await craft({ iss: `${idp.issuer}/other` })), /iss/);
  });

  it('refuses a signature by another key that claims the provider kid', async () => {
    const impostor = await newSigningKey('RS256', k1.kid);
    expect401(await me(await craft({}, { key: impostor })), /signature/);
  });

  it('refuses an algorithm the key is not for and tokens without exp or a user', async () => {
    const es = await newSigningKey('ES256', k1.kid); // ES256 header on the RSA key's kid
    expect401(await me(await craft({}, { key: es })));
    expect401(await me(await craft({ sub: '' })), /sub/);
    expect401(await me(await craft({ sub: 'x'.repeat(300) })), /sub/);
  });

  it('refuses algorithms outside RS256/ES256 even with a published key that names none (PS256)', async () => {
    const ps = await craft({}, { key: { ...k3, alg: 'PS256' as never } });
    expect401(await me(ps), /algorithm/);
  });

  it('an ID token must carry the login nonce and name the client as audience', async () => {
    const web = createOidcVerifier(
      { issuer: idp.issuer, audience: [AUD], clientId: 'web' },
      { nowMs: () => clockMs },
    );
    const idToken = await craft({ aud: 'web', nonce: 'n-1' });
    await expect(web.verifyIdToken(idToken, 'n-1')).resolves.toMatchObject({ sub: 'mallory' });
    await expect(web.verifyIdToken(idToken, 'n-2')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    // An access token for the API is not an ID token for the browser client.
    await expect(web.verifyIdToken(await craft({ nonce: 'n-1' }), 'n-1')).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
  });

  it('garbage that looks like a JWT is a 401, never a 500', async () => {
    for (const t of [
      'a.b.c',
      'eyJhbGciOiJSUzI1NiJ9.e30.',
      'eyJ.eyJ.eyJ',
      `${'A'.repeat(4000)}.x.y`,
      'e30.e30.e30',
    ])
      expect401(await me(t));
  });
});

describe('the provider down or slow', () => {
  it('cached keys keep working while the JWKS cannot be fetched; tokens needing a fetch get 503, not a hang', async () => {
    // A provider at a port that accepts connections and never answers.
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      await app.close();
      await buildApp(`http://127.0.0.1:${port}`, 300);
      const r = await me(await craft({ iss: `http://127.0.0.1:${port}` }));
      expect([r.statusCode, r.json().code]).toEqual([503, 'UNAVAILABLE']);
      expect(r.json().message).toMatch(/cannot be reached/);
    } finally {
      silent.close();
    }
  });

  it('keeps verifying with the keys it has when the provider goes away', async () => {
    const idp2 = await startTestOidcProvider({
      audience: AUD,
      keys: [k1],
      clients: [
        {
          client_id: 'c',
          client_secret: 's',
          grant_types: ['client_credentials'],
          redirect_uris: [],
          response_types: [],
        },
      ],
    });
    await app.close();
    await buildApp(idp2.issuer);
    const token = await idp2.clientCredentialsToken('c', 's');
    expect((await me(token)).statusCode).toBe(200);
    await idp2.close();
    expect((await me(token)).statusCode).toBe(200);
    clockMs += 10_001;
    const unknown = await newSigningKey('RS256', 'rotated-while-down');
    expect401(await me(await craft({ iss: idp2.issuer }, { key: unknown })));
  });

  it('refuses to trust a discovery document that names another issuer (503, explained)', async () => {
    await app.close();
    // The real provider's discovery names its own issuer; pointing the router at a different
    // URL of it (localhost instead of 127.0.0.1) is a mismatch.
    await buildApp(`http://localhost:${idp.port}`);
    const r = await me(await craft({ iss: `http://localhost:${idp.port}` }));
    expect([r.statusCode, r.json().code]).toEqual([503, 'UNAVAILABLE']);
    expect(r.json().message).toMatch(/names issuer/);
  });
});
