/**
 * Rate limits per client address, on top of the per-identity ones, tried the way an attacker would get
 * around them: many identities from one host, rotating loopback addresses or an IPv6 /64, a forged
 * X-Forwarded-For, and sandbox-scoped keys each with their own bucket.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import type { AppDeps } from '../app.ts';
import type { AuthTestApp } from '../testing/auth-app.ts';
import { startAuthTestApp } from '../testing/auth-app.ts';
import { expectRateLimited } from '../testing/rate-limited.ts';
import { clientAddressOf, trustedProxies, trustedProxiesFromEnv } from '../http/trusted-proxies.ts';
import type { Identity } from '../context.ts';
import { createIdentityRateLimiter, rateLimitsFromEnv } from './rate-limits.ts';

let t: AuthTestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** Identity buckets far above what the tests spend: only the per-address bucket (burst 4) can refuse. */
const ADDRESS_ONLY = {
  exec: { perSecond: 0.001, burst: 1000 },
  create: { perSecond: 0.001, burst: 1000 },
  perAddress: { exec: { perSecond: 0.001, burst: 4 }, create: { perSecond: 0.001, burst: 3 } },
};

async function start(extra: Partial<AppDeps> = {}) {
  t = await startAuthTestApp({ rateLimits: ADDRESS_ONLY, ...extra });
  return t;
}

/** An exec on `box` (409: not running, i.e. past the limiter; 429 limited) from `remoteAddress`. */
async function exec(
  key: string,
  remoteAddress: string,
  headers: Record<string, string> = {},
  namespace = 'alice',
): Promise<LightMyRequestResponse> {
  return t!.app.inject({
    method: 'POST',
    url: `/api/v1/sandboxes/box/exec?namespace=${namespace}`,
    remoteAddress,
    headers: { 'x-api-key': key, 'content-type': 'application/json', ...headers },
    payload: '{"command":"true"}',
  });
}

let creators = 0;
/** A key for `user` and a sandbox `box` in namespace `user`, created from an address of its own. */
async function sandboxFor(user: string): Promise<string> {
  const key = (await t!.issue(user)).key;
  const r = await t!.app.inject({
    method: 'POST',
    url: '/api/v1/sandboxes',
    remoteAddress: `198.51.100.${++creators}`,
    headers: { 'x-api-key': key, 'content-type': 'application/json' },
    payload: JSON.stringify({ name: 'box', namespace: user, template: 'general-coding' }),
  });
  expect(r.statusCode, r.body).toBe(201);
  return key;
}

describe('per-address rate limits', () => {
  it('many identities from one address share its bucket; 429 + Retry-After in the one shape', async () => {
    await start();
    const keys = await Promise.all(['u1', 'u2', 'u3', 'u4', 'u5'].map(sandboxFor));
    const execAs = (i: number, addr: string) =>
      t!.app.inject({
        method: 'POST',
        url: `/api/v1/sandboxes/box/exec?namespace=u${i + 1}`,
        remoteAddress: addr,
        headers: { 'x-api-key': keys[i]!, 'content-type': 'application/json' },
        payload: '{"command":"true"}',
      });
    for (let i = 0; i < 4; i++) expect((await execAs(i, '203.0.113.9')).statusCode).toBe(409);
    const limited = await execAs(4, '203.0.113.9'); // a fresh identity, same host
    expectRateLimited(limited);
    expect(limited.json().message).toMatch(/exec calls from client address 203\.0\.113\.9/);
    // Another host is not affected, and reads are not limited.
    expect((await execAs(4, '203.0.113.10')).statusCode).toBe(409);
    const read = await t!.app.inject({
      method: 'GET',
      url: '/api/v1/sandboxes/box?namespace=u1',
      remoteAddress: '203.0.113.9',
      headers: { 'x-api-key': keys[0]! },
    });
    expect(read.statusCode).toBe(200);
  });

  it('rotating loopback addresses or an IPv6 /64 does not give a fresh bucket', async () => {
    await start();
    const key = await sandboxFor('alice');
    const loopbacks = ['127.0.0.1', '127.0.0.200', '127.44.3.2', '::1', '::ffff:127.0.0.9'];
    for (const a of loopbacks.slice(0, 4)) expect((await exec(key, a)).statusCode, a).toBe(409);
    expect((await exec(key, loopbacks[4]!)).statusCode).toBe(429);
    const v6 = ['2001:db8:1:2::1', '2001:db8:1:2::ffff', '2001:db8:1:2:abcd::7', '2001:db8:1:2:1:2:3:4'];
    for (const a of v6) expect((await exec(key, a)).statusCode, a).toBe(409);
    expect((await exec(key, '2001:db8:1:2:9::9')).statusCode).toBe(429);
    expect((await exec(key, '2001:db8:1:3::1')).statusCode).toBe(409); // another /64
  });

  it('ignores X-Forwarded-For unless the peer is a configured trusted proxy', async () => {
    await start();
    const key = await sandboxFor('alice');
    const ex = (addr: string, xff?: string) => exec(key, addr, xff ? { 'x-forwarded-for': xff } : {});
    for (let i = 0; i < 4; i++) expect((await ex('203.0.113.5', `192.0.2.${i}`)).statusCode).toBe(409);
    expect((await ex('203.0.113.5', '192.0.2.99')).statusCode).toBe(429);
    await t!.close();

    await start({ trustedProxies: ['10.0.0.0/8'] });
    const k2 = await sandboxFor('alice');
    const viaProxy = (xff: string, peer = '10.1.2.3') => exec(k2, peer, { 'x-forwarded-for': xff });
    // The client the proxy names is counted, whatever the client wrote to the left of it.
    for (let i = 0; i < 4; i++) expect((await viaProxy(`6.6.6.${i}, 192.0.2.50`)).statusCode).toBe(409);
    expect((await viaProxy('6.6.6.200, 192.0.2.50')).statusCode).toBe(429);
    expect((await viaProxy('192.0.2.51')).statusCode).toBe(409); // another client behind the proxy
    // Chained trusted proxies are skipped; a peer outside the list is the client itself.
    expect((await viaProxy('192.0.2.50, 10.9.9.9')).statusCode).toBe(429);
    for (let i = 0; i < 4; i++)
      expect((await viaProxy(`192.0.2.${i}`, '198.51.100.77')).statusCode).toBe(409);
    expect((await viaProxy('192.0.2.200', '198.51.100.77')).statusCode).toBe(429);
  });

  it('each sandbox-scoped key has its own identity bucket; the user keeps theirs', async () => {
    t = await startAuthTestApp({ rateLimits: { exec: { perSecond: 0.001, burst: 2 } } });
    const alice = (await t.issue('alice')).key;
    await t.call(alice, 'POST', '/api/v1/sandboxes', { name: 'box', template: 'general-coding' });
    const mint = async (name: string) =>
      (
        await t!.call(alice, 'POST', '/api/v1/user/api-keys', { name, sandbox: 'box', verbs: ['exec'] })
      ).json().key as string;
    const [agentA, agentB] = [await mint('a'), await mint('b')];
    const run = (key: string) => t!.call(key, 'POST', '/api/v1/sandboxes/box/exec', { command: 'true' });
    expect([(await run(agentA)).statusCode, (await run(agentA)).statusCode]).toEqual([409, 409]);
    const limited = await run(agentA);
    expect(limited.statusCode).toBe(429);
    expect(limited.json().message).toMatch(/from API key key_/);
    // A runaway agent does not starve the user's other agents or the user.
    expect((await run(agentB)).statusCode).toBe(409);
    expect((await run(alice)).statusCode).toBe(409);
    expect((await run(alice)).statusCode).toBe(409);
    expect((await run(alice)).statusCode).toBe(429);
  });
});

describe('the per-address limiter', () => {
  const user = (sub: string, extra: Partial<Identity> = {}): Identity => ({
    sub,
    groups: [],
    isAdmin: false,
    ...extra,
  });

  it('spends neither bucket when one refuses; admins exempt by default; addresses bounded', () => {
    const now = 0;
    const limiter = createIdentityRateLimiter({
      exec: { perSecond: 1, burst: 2 },
      perAddress: { exec: { perSecond: 1, burst: 3 } },
      maxTrackedAddresses: 50,
      nowMs: () => now,
    });
    limiter.take('exec', user('a'), '192.0.2.1');
    limiter.take('exec', user('a'), '192.0.2.1');
    expect(() => limiter.take('exec', user('a'), '192.0.2.1')).toThrow(/from a:/);
    // a's refusal spent nothing of the address: b gets its one remaining token there.
    limiter.take('exec', user('b'), '192.0.2.1');
    expect(() => limiter.take('exec', user('c'), '192.0.2.1')).toThrow(/client address 192\.0\.2\.1/);
    // c's refusal by the address spent nothing of c's own bucket: two from elsewhere still pass.
    limiter.take('exec', user('c'), '192.0.2.2');
    limiter.take('exec', user('c'), '192.0.2.3');
    for (let i = 0; i < 20; i++) limiter.take('exec', user('root', { isAdmin: true }), '192.0.2.1');
    // A spray of addresses is bounded: the exhausted one is forgotten (full bucket again).
    for (let i = 0; i < 500; i++) limiter.take('exec', user(`s${i}`), `198.18.${i >> 8}.${i & 255}`);
    limiter.take('exec', user('d'), '192.0.2.1');
    // The clock never moved: that fresh bucket came from forgetting, not from a refill.
  });

  it('reads per-address settings from the environment; trusted proxies refuse typos', () => {
    expect(
      rateLimitsFromEnv({
        AGENTTIER_RATE_LIMIT_ADDRESS_EXEC: '7/70',
        AGENTTIER_RATE_LIMIT_ADDRESS_CREATE: 'off',
      }).perAddress,
    ).toEqual({ exec: { perSecond: 7, burst: 70 }, invoke: { perSecond: 4, burst: 40 } });
    expect(() => rateLimitsFromEnv({ AGENTTIER_RATE_LIMIT_ADDRESS_INVOKE: 'lots' })).toThrow(
      /ADDRESS_INVOKE/,
    );
    expect(trustedProxiesFromEnv({ AGENTTIER_TRUSTED_PROXIES: ' 10.0.0.0/8, fd00::/8 ,' })).toEqual([
      '10.0.0.0/8',
      'fd00::/8',
    ]);
    for (const bad of ['10.0.0.0/33', 'proxy.internal', '10.0.0/8', '::/129', '1.2.3.4/8/9'])
      expect(() => trustedProxies([bad]), bad).toThrow(/not an IP address or CIDR/);
    const trusts = trustedProxies(['10.0.0.0/8', 'fd00::/8']);
    expect(clientAddressOf('::ffff:10.0.0.1', '192.0.2.1', trusts)).toBe('192.0.2.1');
    expect(clientAddressOf('fd00::1', 'garbage, 192.0.2.1', trusts)).toBe('192.0.2.1');
    expect(clientAddressOf('fd00::1', '192.0.2.1, garbage', trusts)).toBe('fd00::1');
    expect(clientAddressOf('10.0.0.1', '10.0.0.2, 10.0.0.3', trusts)).toBe('10.0.0.2');
    expect(clientAddressOf('192.0.2.7', '10.0.0.1', trusts)).toBe('192.0.2.7');
    expect(clientAddressOf('192.0.2.7', '10.0.0.1', undefined)).toBe('192.0.2.7');
  });
});
