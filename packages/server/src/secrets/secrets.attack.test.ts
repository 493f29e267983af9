import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuthTestApp } from '../testing/auth-app.ts';
import { startAuthTestApp } from '../testing/auth-app.ts';
import { SqliteAuditLog } from '../auth/sqlite-audit-log.ts';
import { SqliteSecretStore } from './sqlite-secret-store.ts';

// A value that must never come back out: not in an answer, an error, or the audit trail.
const VALUE = `ghp_${randomBytes(12).toString('hex')}`;

let t: AuthTestApp;
let secrets: SqliteSecretStore;
let audit: SqliteAuditLog;
let alice: string;
let bob: string;
let admin: string;
const answers: string[] = [];

async function call(key: string, method: string, url: string, payload?: unknown) {
  const r = await t.call(key, method, url, payload);
  answers.push(r.body);
  return r;
}

beforeEach(async () => {
  secrets = new SqliteSecretStore({ path: ':memory:', key: randomBytes(32) });
  audit = new SqliteAuditLog(':memory:');
  t = await startAuthTestApp({ secrets, auditLog: audit });
  alice = (await t.issue('alice')).key;
  bob = (await t.issue('bob')).key;
  admin = (await t.issue('root', true)).key;
  answers.length = 0;
});

afterEach(async () => {
  // Whatever a test did, the value never appeared in an answer or in the audit trail.
  for (const body of answers) expect(body).not.toContain(VALUE);
  const events = await audit.query({ limit: 500 });
  expect(JSON.stringify(events)).not.toContain(VALUE);
  await t.close();
  secrets.close();
  audit.close();
});

describe('secret routes', () => {
  it('take values in and give back names and keys only; PUT replaces, DELETE removes', async () => {
    const put = await call(alice, 'PUT', '/api/v1/secrets/github', { stringData: { TOKEN: VALUE } });
    expect(put.statusCode, put.body).toBe(201);
    expect(put.json()).toMatchObject({
      name: 'github',
      namespace: 'default',
      keys: ['TOKEN'],
      owner: 'alice',
    });
    const again = await call(alice, 'PUT', '/api/v1/secrets/github', {
      stringData: { TOKEN: VALUE, USER: 'me' },
      data: { 'id.pem': Buffer.from(VALUE).toString('base64') },
    });
    expect(again.statusCode).toBe(200);
    expect(again.json().keys).toEqual(['TOKEN', 'USER', 'id.pem']);
    expect((await call(alice, 'GET', '/api/v1/secrets/github')).json().keys).toEqual([
      'TOKEN',
      'USER',
      'id.pem',
    ]);
    const list = await call(alice, 'GET', '/api/v1/secrets');
    expect(list.json().items.map((s: { name: string }) => s.name)).toEqual(['github']);
    expect((await call(alice, 'DELETE', '/api/v1/secrets/github')).statusCode).toBe(204);
    expect((await call(alice, 'GET', '/api/v1/secrets/github')).statusCode).toBe(404);
    const events = await audit.query({ actor: 'alice', limit: 10 });
    expect(events.map((e) => e.target)).toContain('secret:default/github');
  });

  it("are each user's own: another user (admins too) neither sees, deletes nor overwrites them", async () => {
    await call(alice, 'PUT', '/api/v1/secrets/github', { stringData: { TOKEN: VALUE } });
    for (const who of [bob, admin]) {
      const get = await call(who, 'GET', '/api/v1/secrets/github');
      expect([get.statusCode, get.json().code]).toEqual([404, 'NOT_FOUND']);
      expect((await call(who, 'GET', '/api/v1/secrets')).json().items).toEqual([]);
      expect((await call(who, 'DELETE', '/api/v1/secrets/github')).statusCode).toBe(404);
    }
    // Bob's secret of the same name is his own; Alice's is untouched.
    await call(bob, 'PUT', '/api/v1/secrets/github', { stringData: { TOKEN: 'bobs' } });
    expect(new TextDecoder().decode((await secrets.values('alice', 'default', 'github'))!.get('TOKEN'))).toBe(
      VALUE,
    );
    expect(new TextDecoder().decode((await secrets.values('bob', 'default', 'github'))!.get('TOKEN'))).toBe(
      'bobs',
    );
  });

  it("let a sandbox reference only its creator's secrets: another user's is refused at create", async () => {
    await call(alice, 'PUT', '/api/v1/secrets/github?namespace=team', { stringData: { TOKEN: VALUE } });
    const body = (name: string) => ({
      name,
      namespace: 'team',
      template: 'general-coding',
      credentials: [{ secretName: 'github', envPrefix: 'GH_' }],
    });
    const theft = await call(bob, 'POST', '/api/v1/sandboxes', body('bob-box'));
    expect([theft.statusCode, theft.json().code], theft.body).toEqual([422, 'UNPROCESSABLE']);
    expect(theft.json().details[0]).toMatchObject({ field: 'credentials.0.secretName', rule: 'exists' });
    expect(theft.json().message).toContain('not one of your secrets in namespace "team"');
    // Not in another namespace either.
    const elsewhere = await call(alice, 'POST', '/api/v1/sandboxes', { ...body('a1'), namespace: 'default' });
    expect(elsewhere.statusCode).toBe(422);
    const own = await call(alice, 'POST', '/api/v1/sandboxes', body('alice-box'));
    expect(own.statusCode, own.body).toBe(201);
    const shown = await call(alice, 'GET', '/api/v1/sandboxes/alice-box?namespace=team');
    expect(shown.statusCode).toBe(200);
  });

  it('refuse a template credential the creating user lacks, and keys that cannot be variable names', async () => {
    const tpl = await call(admin, 'PUT', '/api/v1/templates/with-creds', {
      spec: { credentials: [{ secretName: 'openai' }] },
    });
    expect(tpl.statusCode, tpl.body).toBe(201);
    await call(admin, 'PUT', '/api/v1/secrets/openai', { stringData: { OPENAI_API_KEY: VALUE } });
    // The admin's own secret is not handed to other users' sandboxes through the template.
    const r = await call(bob, 'POST', '/api/v1/sandboxes', { name: 'b', template: 'with-creds' });
    expect(r.statusCode).toBe(422);
    await call(bob, 'PUT', '/api/v1/secrets/openai', { stringData: { 'not-a-var': 'x' } });
    const bad = await call(bob, 'POST', '/api/v1/sandboxes', { name: 'b', template: 'with-creds' });
    expect([bad.statusCode, bad.json().details[0].rule]).toEqual([422, 'env_name']);
    expect(bad.json().message).toContain('not-a-var');
    // Nor may a secret set the platform's own variables (sandboxd's token, socket, roots).
    await call(bob, 'PUT', '/api/v1/secrets/sneaky', { stringData: { SANDBOXD_TOKEN: 'x' } });
    const platformVar = await call(bob, 'POST', '/api/v1/sandboxes', {
      name: 'b',
      template: 'general-coding',
      credentials: [{ secretName: 'sneaky', envPrefix: 'AGENTTIER_' }],
    });
    expect([platformVar.statusCode, platformVar.json().details[0].rule]).toEqual([422, 'env_name']);
    const asFiles = await call(bob, 'POST', '/api/v1/sandboxes', {
      name: 'b',
      template: 'general-coding',
      credentials: [{ secretName: 'openai', mountAs: 'file', mountPath: '/credentials/openai' }],
    });
    expect(asFiles.statusCode, asFiles.body).toBe(201);
  });

  it('refuse bad names, keys, shapes and mount paths with the field named, never echoing a value', async () => {
    const bad: Array<[string, unknown, string]> = [
      ['/api/v1/secrets/Bad_Name', { stringData: { A: VALUE } }, 'name'],
      ['/api/v1/secrets/ok', { stringData: { '../etc': VALUE } }, 'stringData.../etc'],
      ['/api/v1/secrets/ok', { stringData: { '..': VALUE } }, 'stringData...'],
      ['/api/v1/secrets/ok', { stringData: {} }, 'stringData'],
      ['/api/v1/secrets/ok', { data: { A: `${VALUE}!*` } }, 'data.A'],
      ['/api/v1/secrets/ok', { stringData: { A: VALUE }, data: { A: 'eA==' } }, 'data.A'],
      ['/api/v1/secrets/ok', { stringData: { A: VALUE }, value: VALUE }, 'value'],
      ['/api/v1/secrets/ok', { stringData: { A: 'x'.repeat(300 * 1024) } }, 'stringData'],
      [
        '/api/v1/secrets/ok',
        { stringData: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`K${i}`, VALUE])) },
        'stringData',
      ],
    ];
    for (const [url, payload, field] of bad) {
      const r = await call(alice, 'PUT', url, payload);
      expect([r.statusCode, r.json().code], `${url} ${r.body.slice(0, 200)}`).toEqual([
        400,
        'VALIDATION_FAILED',
      ]);
      expect(r.json().details.map((d: { field: string }) => d.field)).toContain(field);
    }
    // Malformed JSON: the parser's message must not quote the body.
    const raw = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/secrets/ok',
      headers: { 'x-api-key': alice, 'content-type': 'application/json' },
      payload: `{"stringData": {"A": "${VALUE}"`,
    });
    answers.push(raw.body);
    expect(raw.statusCode).toBe(400);

    await call(alice, 'PUT', '/api/v1/secrets/s', { stringData: { A: VALUE } });
    const creds: Array<[unknown, string]> = [
      [[{ secretName: 'S' }], 'credentials.0.secretName'],
      [[{ secretName: 's', mountAs: 'file' }], 'credentials.0.mountPath'],
      [[{ secretName: 's', mountAs: 'file', mountPath: '/etc/creds' }], 'credentials.0.mountPath'],
      [[{ secretName: 's', mountAs: 'file', mountPath: '/workspace/.creds' }], 'credentials.0.mountPath'],
      [[{ secretName: 's', mountAs: 'file', mountPath: '/var/run/../x' }], 'credentials.0.mountPath'],
      [
        [{ secretName: 's', mountAs: 'file', mountPath: '/creds', envPrefix: 'A_' }],
        'credentials.0.envPrefix',
      ],
      [[{ secretName: 's', mountPath: '/creds' }], 'credentials.0.mountPath'],
      [[{ secretName: 's', envPrefix: '1A' }], 'credentials.0.envPrefix'],
      [[{ secretName: 's', mountAs: 'volume' }], 'credentials.0.mountAs'],
      [
        [
          { secretName: 's', mountAs: 'file', mountPath: '/creds' },
          { secretName: 's', mountAs: 'file', mountPath: '/creds/inner' },
        ],
        'credentials.1.mountPath',
      ],
      [Array.from({ length: 17 }, () => ({ secretName: 's' })), 'credentials'],
    ];
    for (const [credentials, field] of creds) {
      const r = await call(alice, 'POST', '/api/v1/sandboxes', {
        name: 'x',
        template: 'general-coding',
        credentials,
      });
      expect([r.statusCode, r.json().code], `${JSON.stringify(credentials).slice(0, 120)} ${r.body}`).toEqual(
        [400, 'VALIDATION_FAILED'],
      );
      expect(r.json().details.map((d: { field: string }) => d.field)).toContain(field);
    }
    // A workspace moved under the credential's directory overlaps it too.
    const moved = await call(alice, 'POST', '/api/v1/sandboxes', {
      name: 'x',
      template: 'general-coding',
      storage: { mountPath: '/srv/creds/work' },
      credentials: [{ secretName: 's', mountAs: 'file', mountPath: '/srv/creds' }],
    });
    expect(moved.statusCode).toBe(400);
  });

  it('are out of reach of sandbox-scoped keys', async () => {
    await call(alice, 'POST', '/api/v1/sandboxes', { name: 'box', template: 'general-coding' });
    const minted = await call(alice, 'POST', '/api/v1/user/api-keys', {
      name: 'agent',
      sandbox: 'box',
      verbs: ['exec'],
    });
    const scoped = minted.json().key as string;
    for (const [method, url] of [
      ['GET', '/api/v1/secrets'],
      ['PUT', '/api/v1/secrets/x'],
      ['GET', '/api/v1/secrets/x'],
      ['DELETE', '/api/v1/secrets/x'],
    ] as const) {
      expect(
        (await call(scoped, method, url, { stringData: { A: VALUE } })).statusCode,
        `${method} ${url}`,
      ).toBe(403);
    }
    expect(await secrets.list('alice')).toEqual([]);
  });

  it('cap how many secrets one user keeps; replacing one is not a new one', async () => {
    for (let i = 0; i < 200; i++)
      await secrets.put('alice', 'default', `s${i}`, new Map([['A', new Uint8Array([1])]]));
    const over = await call(alice, 'PUT', '/api/v1/secrets/one-more', { stringData: { A: VALUE } });
    expect([over.statusCode, over.json().code]).toEqual([403, 'QUOTA_EXCEEDED']);
    expect((await call(alice, 'PUT', '/api/v1/secrets/s0', { stringData: { A: VALUE } })).statusCode).toBe(
      200,
    );
    expect(
      (await call(bob, 'PUT', '/api/v1/secrets/one-more', { stringData: { A: VALUE } })).statusCode,
    ).toBe(201);
  });

  it('answer 501 on a server without a secret store', async () => {
    const other = await startAuthTestApp();
    try {
      const key = (await other.issue('alice')).key;
      const r = await other.call(key, 'GET', '/api/v1/secrets');
      expect([r.statusCode, r.json().code]).toEqual([501, 'NOT_IMPLEMENTED']);
    } finally {
      await other.close();
    }
  });
});
