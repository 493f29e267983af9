/**
 * OIDC login in real Chromium: the browser goes from the router to a real OpenID provider
 * (`oidc-provider` on 127.0.0.1, another site than the router's `localhost`), signs in on the
 * provider's own pages, comes back through the callback (the SameSite=Lax binding cookie must
 * survive that cross-site redirect) and lands on `/` with a session the UI's requests then carry.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium, LOOPBACK_ONLY_RESOLVER } from '@agenttier/testkit/browser';
import type { TestOidcProvider } from '@agenttier/testkit/oidc';
import { newSigningKey } from '@agenttier/testkit/oidc';
import type { OidcTestbed } from '../testing/oidc-router.ts';
import { startOidcTestbed } from '../testing/oidc-router.ts';
import { SESSION_BINDING_HEADER } from '@agenttier/contract';

let bed: OidcTestbed;
let idp: TestOidcProvider;
let browser: Browser;
let ui: string;

beforeAll(async () => {
  bed = await startOidcTestbed({
    signingKey: await newSigningKey('RS256', 'browser-1'),
    accounts: { carol: { email: 'carol@example.test', groups: ['agenttier-admins'] } },
    adminGroup: 'agenttier-admins',
  });
  ({ idp, url: ui } = bed);
  browser = await launchChromium({ hostResolverRules: LOOPBACK_ONLY_RESOLVER });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await bed?.close();
});

it('signs in at the provider and lands on / with a session cookie the UI then uses', async () => {
  const context = await browser.newContext();
  // Loopback only: the provider's sign-in page links a web font, which must not be fetched.
  await context.route('**/*', async (route) => {
    const host = new URL(route.request().url()).hostname;
    await (host === 'localhost' || host === '127.0.0.1' ? route.continue() : route.abort());
  });
  const page = await context.newPage();
  // As the web UI starts it: with the session binding it chose and keeps in its origin's storage.
  const binding = 'c'.repeat(43);
  await page.goto(`${ui}/api/v1/auth/oidc/login?returnTo=/api/v1/auth/methods&binding=${binding}`);
  expect(page.url().startsWith(idp.issuer)).toBe(true);
  await page.fill('input[name=login]', 'carol');
  await page.fill('input[name=password]', 'anything');
  await page.click('button[type=submit]');
  await page.waitForSelector('input[name=prompt][value=consent]', { state: 'attached' });
  await page.click('button[type=submit]'); // consent
  await page.waitForURL(`${ui}/api/v1/auth/methods`);
  expect(await page.evaluate(`fetch('/api/v1/user/me').then((r) => r.status)`)).toBe(401); // cookie alone
  const me = (await page.evaluate(
    `fetch('/api/v1/user/me', { headers: { '${SESSION_BINDING_HEADER}': '${binding}' } }).then((r) => r.json())`,
  )) as Record<string, unknown>;
  expect(me).toMatchObject({
    id: 'carol',
    email: 'carol@example.test',
    isAdmin: true,
    authMethod: 'session',
  });
  const cookies = await context.cookies(ui);
  const session = cookies.find((c) => c.name === 'agenttier_session');
  expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
  // The one-login binding cookie is cleared once used.
  expect(cookies.find((c) => c.name === 'agenttier_oidc')).toBeUndefined();
  await context.close();
});
