/**
 * Browser login through a real OpenID provider (`oidc-provider` on loopback) with authorization
 * code + PKCE: the happy path ends in a session cookie; a callback replayed, started in another
 * browser, with a forged state, a swapped code, or an open-redirect `returnTo` does not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_BINDING_HEADER } from '@agenttier/contract';
import { SqliteAuditLog } from '../auth/sqlite-audit-log.ts';
import type { TestOidcProvider } from '@agenttier/testkit/oidc';
import { loginAtProvider, newSigningKey } from '@agenttier/testkit/oidc';
import type { OidcTestbed } from '../testing/oidc-router.ts';
import { startOidcTestbed } from '../testing/oidc-router.ts';

let bed: OidcTestbed;
let idp: TestOidcProvider;
let base: string;
let audit: SqliteAuditLog;

// One router for the file: each test's logins are independent (their own state and cookies).
beforeAll(async () => {
  audit = new SqliteAuditLog(':memory:');
  bed = await startOidcTestbed({
    signingKey: await newSigningKey('ES256', 'web-1'),
    accounts: {
      alice: { email: 'alice@example.test', name: 'Alice', groups: ['dev'] },
      root: { email: 'root@example.test', groups: ['agenttier-admins'] },
    },
    adminGroup: 'agenttier-admins',
    deps: { auditLog: audit },
  });
  ({ idp, url: base } = bed);
});
afterAll(async () => {
  await bed.close();
  audit.close();
});

const CALLBACK = () => `${base}/api/v1/auth/oidc/callback`;

/** Starts a login as a browser: the redirect to the provider and the browser-binding cookie. */
async function start(returnTo?: string, binding = BINDING): Promise<{ authorize: string; binder: string }> {
  const q = new URLSearchParams({ binding, ...(returnTo ? { returnTo } : {}) });
  const res = await fetch(`${base}/api/v1/auth/oidc/login?${q.toString()}`, { redirect: 'manual' });
  expect(res.status, await res.clone().text()).toBe(302);
  const binder = res.headers.getSetCookie().find((c) => c.startsWith('agenttier_oidc='))!;
  expect(binder).toContain('HttpOnly');
  expect(binder).toContain('SameSite=Lax');
  expect(binder).toContain('Path=/api/v1/auth/oidc/callback');
  return { authorize: res.headers.get('location')!, binder: binder.split(';')[0]! };
}

const callback = (url: string, cookie?: string) =>
  fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });

function sessionCookieOf(res: Response): string | undefined {
  return res.headers
    .getSetCookie()
    .find((c) => c.startsWith('agenttier_session='))
    ?.split(';')[0];
}

/** The session binding the web UI chose when it started the login (and keeps in its storage). */
const BINDING = 'u'.repeat(43);

const me = (cookie: string, binding = BINDING) =>
  fetch(`${base}/api/v1/user/me`, { headers: { cookie, [SESSION_BINDING_HEADER]: binding } });

describe('authorization code + PKCE login', () => {
  it('logs a browser in: the provider login ends in a session cookie and a redirect to /', async () => {
    const methods = await (await fetch(`${base}/api/v1/auth/methods`)).json();
    expect(methods).toMatchObject({ apiKey: true, oidc: true, oidcLoginUrl: '/api/v1/auth/oidc/login' });
    const { authorize, binder } = await start();
    const q = new URL(authorize).searchParams;
    expect(authorize.startsWith(`${idp.issuer}/auth?`)).toBe(true);
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const back = await loginAtProvider(authorize, 'alice', CALLBACK());
    const res = await callback(back, binder);
    expect(res.status, await res.clone().text()).toBe(302);
    expect(res.headers.get('location')).toBe('/');
    const cookie = sessionCookieOf(res)!;
    expect(cookie).toBeDefined();
    const who = await me(cookie);
    // The login is in the audit trail with who it was (GET, but it starts a session).
    const events = await audit.query({ actor: 'alice', limit: 10 });
    expect(events.map((e) => [e.action, e.status])).toContainEqual(['GET /api/v1/auth/oidc/callback', 302]);
    expect(await who.json()).toMatchObject({
      id: 'alice',
      email: 'alice@example.test',
      groups: ['dev'],
      isAdmin: false,
    });
  });

  it('maps the admin group to an admin and keeps returnTo on this origin only', async () => {
    const { authorize, binder } = await start('/sandboxes/demo?tab=terminal');
    const res = await callback(await loginAtProvider(authorize, 'root', CALLBACK()), binder);
    expect(res.headers.get('location')).toBe('/sandboxes/demo?tab=terminal');
    expect(((await (await me(sessionCookieOf(res)!)).json()) as { isAdmin: boolean }).isAdmin).toBe(true);
    for (const evil of [
      'https://evil.example/',
      '//evil.example/x',
      '/\\evil.example',
      'javascript:alert(1)',
    ]) {
      const s = await start(evil);
      const r = await callback(await loginAtProvider(s.authorize, 'alice', CALLBACK()), s.binder);
      expect(r.headers.get('location'), evil).toBe('/');
    }
  });

  it('a callback link opened in another browser (login CSRF) does not log that browser in', async () => {
    // The attacker starts a login, signs in as themselves, and sends the victim the callback URL.
    const { authorize } = await start();
    const back = await loginAtProvider(authorize, 'mallory', CALLBACK());
    const victim = await callback(back); // the victim's browser has no binding cookie for this login
    expect(victim.status).toBe(400);
    expect(sessionCookieOf(victim)).toBeUndefined();
    expect(((await victim.json()) as { message: string }).message).toMatch(/not started in this browser/);
    const refused = await audit.query({ limit: 50 });
    expect(
      refused.some((e) => e.action === 'GET /api/v1/auth/oidc/callback' && e.status === 400 && !e.actor),
    ).toBe(true);
  });

  it('the session is bound to the binding the UI started the login with; a login without one is refused', async () => {
    // Mallory starts a login with her own binding and walks the victim's browser through the callback
    // (a page on another port can plant the binder cookie): the session works only with Mallory's binding.
    const mallory = 'm'.repeat(43);
    const { authorize, binder } = await start(undefined, mallory);
    const res = await callback(await loginAtProvider(authorize, 'alice', CALLBACK()), binder);
    const cookie = sessionCookieOf(res)!;
    expect((await me(cookie)).status).toBe(401); // the victim's UI holds BINDING, not Mallory's
    expect(((await (await me(cookie, mallory)).json()) as { id: string }).id).toBe('alice');
    for (const bad of [undefined, '', 'short', 'm'.repeat(44)]) {
      const q = bad === undefined ? '' : `?binding=${encodeURIComponent(bad)}`;
      const r = await fetch(`${base}/api/v1/auth/oidc/login${q}`, { redirect: 'manual' });
      expect([r.status, ((await r.json()) as { code: string }).code], String(bad)).toEqual([
        400,
        'BAD_REQUEST',
      ]);
      expect(r.headers.getSetCookie()).toEqual([]);
    }
  });

  it('a binding cookie of another login does not fit, and a replayed callback is refused', async () => {
    const a = await start();
    const b = await start();
    const backA = await loginAtProvider(a.authorize, 'alice', CALLBACK());
    const wrong = await callback(backA, b.binder);
    expect(wrong.status).toBe(400);
    // The state was used up by the failed attempt too: no second try with the right cookie.
    const replay = await callback(backA, a.binder);
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { message: string }).message).toMatch(/unknown or expired login/);
  });

  it('a forged state or a code from another login is refused (state, PKCE, nonce)', async () => {
    const a = await start();
    const backA = new URL(await loginAtProvider(a.authorize, 'alice', CALLBACK()));
    const forged = new URL(backA);
    forged.searchParams.set('state', 'A'.repeat(43));
    expect((await callback(forged.toString(), a.binder)).status).toBe(400);

    // The attacker's own code, injected into the victim's login: the code was bound (PKCE) to the
    // attacker's verifier, so the provider refuses to exchange it with the victim's.
    const victim = await start();
    const attacker = await start();
    const attackerBack = new URL(await loginAtProvider(attacker.authorize, 'mallory', CALLBACK()));
    const victimBack = new URL(await loginAtProvider(victim.authorize, 'alice', CALLBACK()));
    victimBack.searchParams.set('code', attackerBack.searchParams.get('code')!);
    const injected = await callback(victimBack.toString(), victim.binder);
    expect(injected.status).toBe(401);
    expect(sessionCookieOf(injected)).toBeUndefined();
  });

  it('a provider error (the user said no) is a 401 that says so', async () => {
    const { binder } = await start();
    const r = await callback(
      `${CALLBACK()}?error=access_denied&error_description=End-User%20aborted&state=x`,
      binder,
    );
    expect(r.status).toBe(401);
    expect(((await r.json()) as { message: string }).message).toMatch(/access_denied/);
  });
});
