/**
 * Preview links and preview sessions kept in SQLite (real file): they survive a router restart, a link
 * is still spent by its first presentation (also across two routers on one file), and the file holds no
 * usable secret. See docs/security.md, "Preview links and sessions across restarts".
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Identity } from '../context.ts';
import type { PreviewTarget } from '../http/preview-host.ts';
import { createPreviewSessions, PREVIEW_COOKIE } from './preview-sessions.ts';
import { SqlitePreviewGrantStore } from './sqlite-preview-grants.ts';

const dirs: string[] = [];
const stores: SqlitePreviewGrantStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function dbPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'preview-grants-'));
  dirs.push(dir);
  return join(dir, 'state.db');
}

/** A router's preview sessions on `path`, as a (re)started router opens them. */
function router(path: string, nowMs: () => number = Date.now) {
  const store = new SqlitePreviewGrantStore(path);
  stores.push(store);
  return { sessions: createPreviewSessions({ store, nowMs }), store };
}

const alice: Identity = { sub: 'alice', groups: [], isAdmin: false, keyId: 'k-alice' };
const target: PreviewTarget = { port: 8080, name: 'web', namespace: 'default' };
const cookieOf = (setCookie: string): string => setCookie.split(';')[0]!;

describe('preview links and sessions in SQLite', () => {
  it('survive a restart: a link minted before it is spent once after it, the session cookie goes on', () => {
    const path = dbPath();
    const before = router(path);
    const link = before.sessions.mint(alice, target, '/app?x=1');
    before.store.close();

    const after = router(path);
    const { setCookie, location } = after.sessions.exchange(link.token, target, false);
    expect(location).toBe('/app?x=1');
    expect(() => after.sessions.exchange(link.token, target, false)).toThrow(/already used/);
    after.store.close();

    const again = router(path);
    expect(again.sessions.identityFor({ cookie: cookieOf(setCookie) }, target)).toEqual(alice);
    expect(again.sessions.identityFor({ cookie: cookieOf(setCookie) }, { ...target, port: 8081 })).toBe(
      undefined,
    );
  });

  it('spends a link once across two routers on one file, and on the wrong host too', () => {
    const path = dbPath();
    const a = router(path);
    const b = router(path);
    const link = a.sessions.mint(alice, target, '/');
    expect(() => b.sessions.exchange(link.token, { ...target, name: 'other' }, false)).toThrow(
      /already used/,
    );
    expect(() => a.sessions.exchange(link.token, target, false)).toThrow(/already used/);

    const second = a.sessions.mint(alice, target, '/');
    const results = [a, b].map((r) => {
      try {
        return r.sessions.exchange(second.token, target, false).location;
      } catch {
        return 'refused';
      }
    });
    expect(results.sort()).toEqual(['/', 'refused']);
  });

  it('keeps only hashes, ends with expiry and with the key that minted them, and stays bounded', () => {
    const path = dbPath();
    let now = 1_000_000;
    const r = router(path, () => now);
    const link = r.sessions.mint(alice, target, '/');
    const { setCookie } = r.sessions.exchange(r.sessions.mint(alice, target, '/').token, target, false);
    const session = cookieOf(setCookie).slice(PREVIEW_COOKIE.length + 1);
    for (const file of [path, `${path}-wal`]) {
      const bytes = readFileSync(file, { flag: 'r' }).toString('latin1');
      expect(bytes).not.toContain(link.token);
      expect(bytes).not.toContain(session);
    }
    // Expiry: the link after 60 s, the session after 8 h.
    now += 61_000;
    expect(() => r.sessions.exchange(link.token, target, false)).toThrow(/expired/);
    expect(r.sessions.identityFor({ cookie: cookieOf(setCookie) }, target)).toEqual(alice);
    now += 8 * 60 * 60_000;
    expect(r.sessions.identityFor({ cookie: cookieOf(setCookie) }, target)).toBe(undefined);
    // Revoking the key ends its sessions at once.
    const fresh = r.sessions.exchange(r.sessions.mint(alice, target, '/').token, target, false);
    r.sessions.forgetKey('k-alice');
    expect(r.sessions.identityFor({ cookie: cookieOf(fresh.setCookie) }, target)).toBe(undefined);
    // Bounded: 30 mints keep at most the store's bound of links.
    const bounded = createPreviewSessions({ store: r.store, maxEntries: 5, nowMs: () => now });
    for (let i = 0; i < 30; i++) bounded.mint(alice, target, '/');
    expect(r.store.count('link')).toBe(5);
  });
});
