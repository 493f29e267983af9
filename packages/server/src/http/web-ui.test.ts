/**
 * The web UI's static files at `/`: content types, caching, the SPA fallback and its limits (never
 * for /api/ or /ws/, never index.html for a missing script), and the page's headers — checked in
 * real Chromium: an injected inline script does not run, and another site cannot frame the UI.
 * The "build" is a directory this test writes, shaped like Vite's output.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from '@agenttier/testkit/browser';
import type { FastifyInstance } from 'fastify';
import { MemoryStore } from '@agenttier/testkit';
import { defaultWebUiRoot } from './web-ui.ts';
import { closeServer, listenOnLoopback } from '../testing/loopback-server.ts';
import { createBareApp } from '../testing/bare-app.ts';

let root: string;
let app: FastifyInstance;
let base: string;
const BIG_SCRIPT = `console.log(${JSON.stringify('x'.repeat(4000))});\n`;

function makeApp(webRoot: string | undefined): FastifyInstance {
  return createBareApp(new MemoryStore(), {
    ...(webRoot ? { webUi: { root: webRoot } } : {}),
  });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'agenttier-webui-'));
  mkdirSync(join(root, 'assets'));
  mkdirSync(join(root, '.vite'));
  // The page tries an inline script (what an HTML injection would add): the CSP must stop it. The
  // module script from 'self' is allowed and reports that it ran.
  writeFileSync(
    join(root, 'index.html'),
    `<!doctype html><html><head><meta name="csp-nonce" content="" /><style>body { margin: 77px }</style><title>AgentTier</title><script type="module" src="/assets/index-abc123.js"></script></head>` +
      `<body><div id="root"></div><script>document.title = 'inline script ran';</script></body></html>`,
  );
  writeFileSync(
    join(root, 'assets', 'index-abc123.js'),
    `document.body.dataset.app = 'loaded';\n${BIG_SCRIPT}`,
  );
  writeFileSync(join(root, 'assets', 'index-abc123.css'), 'body{margin:0}');
  writeFileSync(join(root, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(root, '.vite', 'manifest.json'), '{}');
  writeFileSync(join(root, 'assets', 'unknown.bin'), 'binary');
  app = makeApp(root);
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await app?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('web UI files', () => {
  it('serves index.html at / with a strict CSP, no caching, and framing refused', async () => {
    const r = await fetch(`${base}/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(r.headers.get('cache-control')).toBe('no-cache');
    const csp = r.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await r.text()).toContain('<div id="root">');
  });

  it('gives every page load its own style nonce, in the CSP and in the page', async () => {
    const nonces = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${base}/templates`);
      const csp = r.headers.get('content-security-policy') ?? '';
      const fromCsp = /style-src 'self' 'nonce-([A-Za-z0-9+/=]{24})'/.exec(csp)?.[1];
      expect(fromCsp).toBeDefined();
      expect(await r.text()).toContain(`<meta name="csp-nonce" content="${fromCsp}"`);
      expect(csp).not.toMatch(/script-src[^;]*nonce/);
      nonces.add(fromCsp!);
    }
    expect(nonces.size).toBe(2);
  });

  it('serves hashed assets as immutable with their type, gzipped when asked', async () => {
    const js = await app.inject({
      url: '/assets/index-abc123.js',
      headers: { 'accept-encoding': 'gzip, br' },
    });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(js.rawPayload).toString()).toContain("dataset.app = 'loaded'");
    const plain = await app.inject({ url: '/assets/index-abc123.js' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toContain("dataset.app = 'loaded'");
    const css = await app.inject({ url: '/assets/index-abc123.css' });
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    const svg = await app.inject({ url: '/favicon.svg' });
    expect(svg.headers['content-type']).toBe('image/svg+xml');
    expect(svg.headers['cache-control']).toBe('no-cache');
  });

  it('answers client-side routes with index.html (the SPA routes them)', async () => {
    for (const url of ['/templates', '/sandboxes/default/demo/terminal', '/activity?actor=x']) {
      const r = await app.inject({ url });
      expect(r.statusCode, url).toBe(200);
      expect(r.headers['content-type'], url).toBe('text/html; charset=utf-8');
      expect(r.body, url).toContain('<div id="root">');
    }
  });

  it('never answers /api/, /ws/, a missing asset or an unknown file type with the app', async () => {
    for (const url of [
      '/api/v1/nothing',
      '/api',
      '/ws/nothing',
      '/assets/index-old999.js',
      '/missing.js',
      '/assets/unknown.bin',
      '/.vite/manifest.json',
      '/assets/..%2f..%2fpackage.json',
    ]) {
      const r = await app.inject({ url });
      expect(r.statusCode, url).toBe(404);
      expect(r.headers['content-type'], url).toMatch(/^application\/json/);
      expect(r.json().code, url).toBe('NOT_FOUND');
    }
  });

  it('serves only files of the build: a traversal gets the app page at most', async () => {
    // Files come from memory by exact path, never from the disk by a path built from the URL.
    for (const url of [
      '/%2e%2e/%2e%2e/etc/passwd',
      '/assets/%2e%2e/%2e%2e/%2e%2e/etc/hostname',
      '/..%2f..%2fetc/passwd',
    ]) {
      const r = await app.inject({ url });
      expect(r.body, url).not.toMatch(/root:|localhost/);
      if (r.statusCode === 200) expect(r.body, url).toContain('<div id="root">');
      else expect(r.statusCode, url).toBe(404);
    }
  });

  it('leaves the probes and the API to their own routes', async () => {
    expect((await app.inject({ url: '/healthz' })).body).toBe('ok');
    const me = await app.inject({ url: '/api/v1/user/me' });
    expect(me.statusCode).toBe(200);
    expect(me.json().id).toBe('dev-user');
  });

  it('answers 404 with the build command when the UI is not built (any path), and 404 when not configured', async () => {
    const unbuilt = makeApp(join(root, 'no-such-dir'));
    for (const url of ['/', '/sandboxes/default/x', '/wp-login.php']) {
      const r = await unbuilt.inject({ url });
      expect(r.statusCode).toBe(404);
      expect(r.json().message).toContain('npm run build -w @agenttier/web');
    }
    await unbuilt.close();
    const none = makeApp(undefined);
    expect((await none.inject({ url: '/' })).statusCode).toBe(404);
    await none.close();
  });

  it('finds packages/web/dist beside the server package, or AGENTTIER_WEB_ROOT', () => {
    expect(defaultWebUiRoot({})).toMatch(/packages\/web\/dist\/?$/);
    expect(defaultWebUiRoot({ AGENTTIER_WEB_ROOT: '/srv/ui' })).toBe('/srv/ui');
  });
});

describe('web UI page in Chromium', () => {
  let browser: Browser;
  let evil: Server;
  let evilOrigin: string;
  beforeAll(async () => {
    browser = await launchChromium();
    // Another site that tries to frame the UI (clickjacking: hide it under bait and steal clicks).
    evil = createServer((_req, res) =>
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end(`<!doctype html><iframe id="f" src="${base}/"></iframe>`),
    );
    evilOrigin = `http://127.0.0.1:${await listenOnLoopback(evil)}`;
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await closeServer(evil);
  });

  it('runs the app script from its own origin but not an injected inline script', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await page.waitForFunction("document.body.dataset.app === 'loaded'");
    expect(await page.title()).toBe('AgentTier');
    // An injected <style> without the nonce does not apply either.
    expect(await page.evaluate('getComputedStyle(document.body).marginTop')).not.toBe('77px');
    await page.close();
  });

  it('cannot be framed by another site', async () => {
    const page = await browser.newPage();
    await page.goto(`${evilOrigin}/`);
    // goto waits for the load event, which waits for the frame: by then an allowed frame would hold
    // the app's document (its module script runs before load).
    const frame = await (await page.waitForSelector('#f')).contentFrame();
    const html = await frame?.content().catch(() => '');
    expect(html ?? '').not.toContain('id="root"');
    await page.close();
  });
});
