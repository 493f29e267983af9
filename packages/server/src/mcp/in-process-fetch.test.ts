import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '@agenttier/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteAuditLog } from '../auth/sqlite-audit-log.ts';
import type { AuthTestApp } from '../testing/auth-app.ts';
import { startAuthTestApp } from '../testing/auth-app.ts';
import { inProcessFetch } from './in-process-fetch.ts';

let t: AuthTestApp | undefined;
let dir: string | undefined;
afterEach(async () => {
  await t?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  t = undefined;
  dir = undefined;
});

/** A self-signed pair made with openssl in a scratch dir. */
function selfSigned(): { key: string; cert: string } {
  dir = mkdtempSync(join(tmpdir(), 'agenttier-inproc-tls-'));
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'].concat([
      '-subj',
      '/CN=localhost',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ]),
    { stdio: 'ignore' },
  );
  return {
    key: readFileSync(join(dir, 'key.pem'), 'utf8'),
    cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
  };
}

describe('inProcessFetch', () => {
  it('sends requests through the whole router with the caller’s credential and address, nothing else', async () => {
    const audit = new SqliteAuditLog(':memory:');
    t = await startAuthTestApp({ auditLog: audit });
    const alice = (await t.issue('alice')).key;
    const mallory = (await t.issue('mallory')).key;
    const asAlice = inProcessFetch(t.app.server, {
      credential: { 'x-api-key': alice },
      remoteAddress: '10.9.8.7',
    });

    const me = await asAlice('http://ignored.example/api/v1/user/me');
    expect([me.status, ((await me.json()) as { id: string }).id]).toEqual([200, 'alice']);
    // A credential the client itself adds is replaced: a tool cannot act as anyone but its caller.
    const smuggled = await asAlice('http://x/api/v1/user/me', {
      headers: { authorization: `Bearer ${mallory}`, cookie: 'agenttier_session=x' },
    });
    expect(((await smuggled.json()) as { id: string }).id).toBe('alice');
    const made = await asAlice('http://x/api/v1/sandboxes', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'inproc', template: 'general-coding' }),
    });
    expect(made.status).toBe(201);
    const event = await eventually(
      async () => (await audit.query({ actor: 'alice', limit: 1 }))[0],
      'the audit record',
    );
    expect(event).toMatchObject({ action: 'POST /api/v1/sandboxes', source: '10.9.8.7', status: 201 });
    audit.close();

    const nobody = inProcessFetch(t.app.server, { credential: {}, remoteAddress: '10.9.8.7' });
    const refused = await nobody('http://x/api/v1/user/me');
    expect([refused.status, ((await refused.json()) as { code: string }).code]).toEqual([
      401,
      'UNAUTHENTICATED',
    ]);
    const aborted = new AbortController();
    aborted.abort();
    await expect(asAlice('http://x/api/v1/user/me', { signal: aborted.signal })).rejects.toThrow();
  });

  it('reaches an HTTPS router without TLS (the connection is handed over after the handshake)', async () => {
    t = await startAuthTestApp({ tls: selfSigned() });
    const alice = (await t.issue('alice')).key;
    const res = await inProcessFetch(t.app.server, {
      credential: { 'x-api-key': alice },
      remoteAddress: undefined,
    })('http://x/api/v1/user/me');
    expect([res.status, ((await res.json()) as { id: string }).id]).toEqual([200, 'alice']);
  });
});
