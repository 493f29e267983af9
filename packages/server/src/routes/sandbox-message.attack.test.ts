/**
 * A viewer of a sandbox may read it but not its env (docs/security.md, "Sandbox events feed" and
 * "Credentials"). Its status message and conditions are engine errors as they came, and runc quotes the
 * environment entry it refuses (`"TOKEN=value"`), a secret's included: the API's view must not pass the
 * value on, to the viewer or anyone.
 */
import { randomBytes } from 'node:crypto';
import type { Sandbox } from '@agenttier/contract';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuthTestApp } from '../testing/auth-app.ts';
import { startAuthTestApp } from '../testing/auth-app.ts';
import { seededStore } from '../testing/seeded-store.ts';

let t: AuthTestApp;
let store: Awaited<ReturnType<typeof seededStore>>;
const k = { alice: '', vera: '' };
const ENV_VALUE = `sk-${randomBytes(12).toString('hex')}`;
const [HEAD, TAIL] = [randomBytes(12).toString('hex'), randomBytes(12).toString('hex')];

beforeEach(async () => {
  store = await seededStore();
  t = await startAuthTestApp({ store });
  for (const who of ['alice', 'vera'] as const) k[who] = (await t.issue(who)).key;
  const created = await t.call(k.alice, 'POST', '/api/v1/sandboxes', {
    name: 'box',
    template: 'general-coding',
    env: [{ name: 'API_TOKEN', value: ENV_VALUE }],
  });
  expect(created.statusCode, created.body).toBe(201);
  const shared = await t.call(k.alice, 'PUT', '/api/v1/sandboxes/box/shares/vera', { role: 'viewer' });
  expect(shared.statusCode, shared.body).toBe(200);
});

afterEach(async () => {
  await t.close();
});

describe("a sandbox's message and conditions", () => {
  it('carry neither an env value nor the value of an entry the engine quoted', async () => {
    const sb = (await store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'box' }))!;
    // What runc answered for a secret with a NUL byte (as the local runtime passed it on), and an
    // engine error quoting the container's configuration.
    const engine =
      'could not start the container: (HTTP code 500) server error - error during container init: environment ' +
      `variable value can't contain null(\\x00): "SECRET_TOKEN=${HEAD}\\x00${TAIL}\\"q": unknown; ` +
      `config Env=[API_TOKEN=${ENV_VALUE}]`;
    await store.updateStatus<Sandbox>({
      ...sb,
      status: {
        ...sb.status,
        message: `Retrying after an error: ${engine}`,
        conditions: [
          { type: 'Ready', status: 'False', reason: 'Pending', message: engine, lastTransitionTime: '' },
        ],
      },
    });
    for (const [key, url] of [
      [k.vera, '/api/v1/sandboxes/box'],
      [k.vera, '/api/v1/sandboxes'],
      [k.alice, '/api/v1/sandboxes/box'],
    ] as const) {
      const r = await t.call(key, 'GET', url);
      expect(r.statusCode, r.body).toBe(200);
      for (const leaked of [HEAD, TAIL, ENV_VALUE]) expect(r.body, url).not.toContain(leaked);
      // Still says what went wrong, and which variable.
      expect(r.body).toContain('SECRET_TOKEN=[redacted]');
      expect(r.body).toContain("can't contain null");
    }
  });
});
