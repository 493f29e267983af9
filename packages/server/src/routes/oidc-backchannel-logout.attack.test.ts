/**
 * OpenID Connect Back-Channel Logout against a real provider (`oidc-provider` on loopback): a user who
 * logs out at the provider loses the browser session that provider session made (and only that one),
 * and forged, replayed, misdirected or ID-token-shaped logout tokens end nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import type { TestOidcProvider, TestSigningKey } from '@agenttier/testkit/oidc';
import { loginAtProvider, logoutAtProvider, newSigningKey } from '@agenttier/testkit/oidc';
import { BACKCHANNEL_LOGOUT_EVENT } from '../auth/oidc-verifier.ts';
import { BACKCHANNEL_LOGOUT_PATH } from './oidc-backchannel-logout.ts';
import type { OidcTestbed } from '../testing/oidc-router.ts';
import { TEST_WEB_CLIENT_ID, startOidcTestbed } from '../testing/oidc-router.ts';
import { SESSION_BINDING_HEADER, backchannelLogoutResultSchema } from '@agenttier/contract';

const CLIENT = TEST_WEB_CLIENT_ID;
let bed: OidcTestbed;
let idp: TestOidcProvider;
let signing: TestSigningKey;
let base: string;

beforeAll(async () => {
  signing = await newSigningKey('ES256', 'bc-1');
  bed = await startOidcTestbed({
    signingKey: signing,
    accounts: { alice: { email: 'alice@example.test' }, bob: { email: 'bob@example.test' } },
    webClient: (url) => ({
      backchannel_logout_uri: `${url}${BACKCHANNEL_LOGOUT_PATH}`,
      backchannel_logout_session_required: true,
    }),
  });
  ({ idp, url: base } = bed);
});
afterAll(() => bed.close());

/** The session binding each test browser's UI chose (auth/session-binding.ts). */
const BINDING = 'k'.repeat(43);

/** A browser logging in through the provider; its provider cookies stay in `jar`. */
async function browserLogin(user: string, jar: Map<string, string>): Promise<string> {
  const start = await fetch(`${base}/api/v1/auth/oidc/login?binding=${BINDING}`, { redirect: 'manual' });
  const binder = start.headers
    .getSetCookie()
    .find((c) => c.startsWith('agenttier_oidc='))!
    .split(';')[0]!;
  const back = await loginAtProvider(
    start.headers.get('location')!,
    user,
    `${base}/api/v1/auth/oidc/callback`,
    jar,
  );
  const res = await fetch(back, { redirect: 'manual', headers: { cookie: binder } });
  expect(res.status, await res.clone().text()).toBe(302);
  return res.headers
    .getSetCookie()
    .find((c) => c.startsWith('agenttier_session='))!
    .split(';')[0]!;
}

const meStatus = async (cookie: string) =>
  (await fetch(`${base}/api/v1/user/me`, { headers: { cookie, [SESSION_BINDING_HEADER]: BINDING } })).status;

const postLogout = (
  body: string,
  contentType = 'application/x-www-form-urlencoded',
  extra: Record<string, string> = {},
) =>
  fetch(`${base}${BACKCHANNEL_LOGOUT_PATH}`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...extra },
    body,
  });

/** A logout token signed with the provider's own key (or another), claims overridable. */
async function logoutToken(
  claims: Record<string, unknown>,
  opts: { key?: TestSigningKey; typ?: string } = {},
): Promise<string> {
  const key = opts.key ?? signing;
  return new SignJWT({ events: { [BACKCHANNEL_LOGOUT_EVENT]: {} }, jti: crypto.randomUUID(), ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: opts.typ ?? 'logout+jwt' })
    .setIssuer(idp.issuer)
    .setAudience(CLIENT)
    .setIssuedAt()
    .setExpirationTime('2m')
    .sign(key.privateKey);
}

describe('back-channel logout', () => {
  it('a logout at the provider ends that browser session only; other browsers and users stay', async () => {
    const [laptop, phone, bobs] = [
      new Map<string, string>(),
      new Map<string, string>(),
      new Map<string, string>(),
    ];
    const a1 = await browserLogin('alice', laptop);
    const a2 = await browserLogin('alice', phone);
    const b = await browserLogin('bob', bobs);
    for (const c of [a1, a2, b]) expect(await meStatus(c)).toBe(200);

    await logoutAtProvider(idp.issuer, laptop);
    expect(await meStatus(a1)).toBe(401);
    expect(await meStatus(a2)).toBe(200); // another provider session (sid) of the same user
    expect(await meStatus(b)).toBe(200);
    await logoutAtProvider(idp.issuer, phone);
    expect(await meStatus(a2)).toBe(401);
    expect(await meStatus(b)).toBe(200);
  });

  it('a token naming only sub ends all of that user’s OIDC sessions', async () => {
    const c1 = await browserLogin('alice', new Map());
    const c2 = await browserLogin('alice', new Map());
    const r = await postLogout(
      new URLSearchParams({ logout_token: await logoutToken({ sub: 'alice' }) }).toString(),
    );
    expect(r.status, await r.clone().text()).toBe(200);
    // The answer as documented (its OpenAPI response schema).
    expect(backchannelLogoutResultSchema.parse(await r.json()).ended).toBeGreaterThanOrEqual(2);
    expect([await meStatus(c1), await meStatus(c2)]).toEqual([401, 401]);
  });

  it('refuses forged, replayed, misdirected and ID-token-shaped tokens; they end nothing', async () => {
    const victim = await browserLogin('bob', new Map());
    const other = await newSigningKey('ES256', 'bc-1'); // same kid, not the provider's key
    const form = (t: string) => new URLSearchParams({ logout_token: t }).toString();
    const replayed = await logoutToken({ sub: 'nobody' });
    expect((await postLogout(form(replayed))).status).toBe(200);
    const none = `${Buffer.from('{"alg":"none","typ":"logout+jwt"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({
        iss: idp.issuer,
        aud: CLIENT,
        sub: 'bob',
        iat: Math.floor(Date.now() / 1000),
        jti: 'n1',
        events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
      }),
    ).toString('base64url')}.`;
    const cases: Array<[string, Promise<Response>]> = [
      ['replayed jti', postLogout(form(replayed))],
      ['signed by another key', logoutToken({ sub: 'bob' }, { key: other }).then((t) => postLogout(form(t)))],
      ['alg none', postLogout(form(none))],
      [
        'for another client',
        new SignJWT({ sub: 'bob', jti: 'x2', events: { [BACKCHANNEL_LOGOUT_EVENT]: {} } })
          .setProtectedHeader({ alg: 'ES256', kid: 'bc-1' })
          .setIssuer(idp.issuer)
          .setAudience('someone-else')
          .setIssuedAt()
          .setExpirationTime('2m')
          .sign(signing.privateKey)
          .then((t) => postLogout(form(t))),
      ],
      [
        'no logout event',
        logoutToken({ sub: 'bob', events: { other: {} } }).then((t) => postLogout(form(t))),
      ],
      ['an ID token (nonce)', logoutToken({ sub: 'bob', nonce: 'n' }).then((t) => postLogout(form(t)))],
      ['neither sub nor sid', logoutToken({}).then((t) => postLogout(form(t)))],
      ['no jti', logoutToken({ sub: 'bob', jti: undefined }).then((t) => postLogout(form(t)))],
      ['no token', postLogout('logout_token=')],
      ['two tokens', logoutToken({ sub: 'bob' }).then((t) => postLogout(`${form(t)}&${form(t)}`))],
      [
        'JSON body',
        logoutToken({ sub: 'bob' }).then((t) =>
          postLogout(JSON.stringify({ logout_token: t }), 'application/json'),
        ),
      ],
    ];
    for (const [what, res] of cases) {
      const r = await res;
      const body = (await r.json()) as { code: string };
      expect([r.status, body.code], what).toEqual([400, 'BAD_REQUEST']);
    }
    // A token issued long ago without an expiry is refused as stale.
    const stale = await new SignJWT({ sub: 'bob', jti: 'old', events: { [BACKCHANNEL_LOGOUT_EVENT]: {} } })
      .setProtectedHeader({ alg: 'ES256', kid: 'bc-1' })
      .setIssuer(idp.issuer)
      .setAudience(CLIENT)
      .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
      .sign(signing.privateKey);
    expect((await postLogout(form(stale))).status).toBe(400);
    // Oversized bodies are refused before parsing.
    expect((await postLogout(`logout_token=${'a'.repeat(20_000)}`)).status).toBe(413);
    expect(await meStatus(victim)).toBe(200);
  });
});
