/**
 * Kubernetes ServiceAccount tokens through the router (app.inject) with a fake TokenReview: the
 * mapping to a user, the audience check, people's tokens refused, caching and revocation, the API
 * server down. The real API server runs this in operator/src/e2e/token-review.real.int.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DataPlane } from '@agenttier/core';
import type { FastifyInstance } from 'fastify';
import type { FakeTokenReview } from '../testing/fake-token-review.ts';
import { createFakeTokenReview } from '../testing/fake-token-review.ts';
import type { AuthTestApp } from '../testing/auth-app.ts';
import { startAuthTestApp } from '../testing/auth-app.ts';
import { createServiceAccountReviewer, serviceAccountUserId } from './token-review.ts';

let t: AuthTestApp;
let app: FastifyInstance;
let kube: FakeTokenReview;
let reviewer: ReturnType<typeof createServiceAccountReviewer>;
let clockMs: number;

beforeEach(async () => {
  clockMs = Date.now();
  kube = createFakeTokenReview();
  reviewer = createServiceAccountReviewer({ review: kube.review, cacheTtlMs: 10_000, nowMs: () => clockMs });
  t = await startAuthTestApp({
    dataPlaneFor: async () => ({}) as DataPlane,
    serviceAccounts: reviewer,
    keyAuth: { failureBurst: 1000 },
  });
  ({ app } = t);
});
afterEach(() => t.close());

const as = (token: string, method: 'GET' | 'POST' = 'GET', url = '/api/v1/user/me', payload?: unknown) =>
  app.inject({
    method,
    url,
    headers: {
      authorization: `Bearer ${token}`,
      ...(payload ? { 'content-type': 'application/json' } : {}),
    },
    ...(payload ? { payload: JSON.stringify(payload) } : {}),
  });

describe('ServiceAccount tokens (TokenReview)', () => {
  it('maps system:serviceaccount:NS:NAME to serviceaccount:NS/NAME, never an admin, owning what it creates', async () => {
    const token = kube.issue('system:serviceaccount:team-a:agent', ['agenttier'], ['system:serviceaccounts']);
    const r = await as(token);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toEqual({
      id: 'serviceaccount:team-a/agent',
      sub: 'serviceaccount:team-a/agent',
      name: 'system:serviceaccount:team-a:agent',
      groups: ['system:serviceaccounts'],
      isAdmin: false,
      authMethod: 'service-account',
    });
    expect(
      (await as(token, 'POST', '/api/v1/sandboxes', { name: 'sa-box', template: 'general-coding' }))
        .statusCode,
    ).toBe(201);
    const other = kube.issue('system:serviceaccount:team-b:agent', ['agenttier']);
    expect((await as(other, 'GET', '/api/v1/sandboxes/sa-box')).statusCode).toBe(404);
    expect((await as(token, 'GET', '/api/v1/sandboxes/sa-box')).statusCode).toBe(200);
  });

  it("refuses a token minted for the API server's audience (what a pod's default token is)", async () => {
    const token = kube.issue('system:serviceaccount:team-a:agent');
    const r = await as(token);
    expect([r.statusCode, r.json().code]).toEqual([401, 'UNAUTHENTICATED']);
  });

  it('refuses an answer without the audience even when the server says authenticated', async () => {
    const lax = createServiceAccountReviewer({
      review: async () => ({ authenticated: true, user: { username: 'system:serviceaccount:a:b' } }),
    });
    await expect(lax.review('t')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it("refuses people's and nodes' tokens: only ServiceAccounts log in this way", async () => {
    for (const user of [
      'alice',
      'system:node:worker-1',
      'system:admin',
      'system:serviceaccount:ns',
      'system:serviceaccount:a:b:c',
    ]) {
      const r = await as(kube.issue(user, ['agenttier']));
      expect(r.statusCode, user).toBe(401);
      expect(r.json().message).toMatch(/only ServiceAccount tokens/);
    }
    expect(serviceAccountUserId('system:serviceaccount:NS:bad_name')).toBeUndefined();
  });

  it('caches a review briefly; a revoked token stops working once the cache entry is stale', async () => {
    const token = kube.issue('system:serviceaccount:team-a:agent', ['agenttier']);
    expect((await as(token)).statusCode).toBe(200);
    expect((await as(token)).statusCode).toBe(200);
    expect(kube.calls).toBe(1);
    kube.revoke(token); // the ServiceAccount or its pod was deleted
    clockMs += 10_001;
    expect((await as(token)).statusCode).toBe(401);
  });

  it('the API server down is a 503 that says so, and is not counted as a failed login', async () => {
    const token = kube.issue('system:serviceaccount:team-a:agent', ['agenttier']);
    kube.down = true;
    const r = await as(token);
    expect([r.statusCode, r.json().code]).toEqual([503, 'UNAVAILABLE']);
    expect(r.json().message).toMatch(/could not review/);
    kube.down = false;
    expect((await as(token)).statusCode).toBe(200);
  });

  it('API keys keep working beside it and are never sent to the API server', async () => {
    const r = await as(`atk_${'0'.repeat(43)}`);
    expect(r.statusCode).toBe(401);
    expect(kube.calls).toBe(0);
  });
});
