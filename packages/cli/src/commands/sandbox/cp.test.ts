import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sendJson } from '@agenttier/sdk/testing';
import { describe, expect, it } from 'vitest';
import { makeZip } from '../../testing/run-cli.ts';
import { parseLocation } from './cp.ts';
import { useCliTestServer } from '../../testing/cli-test-server.ts';

const t = useCliTestServer();
const { cli } = t;

const entry = (name: string, parent: string, isDir: boolean) => ({
  name,
  path: `${parent}/${name}`,
  size: 10,
  isDir,
  mode: isDir ? 'drwxr-xr-x' : '-rw-r--r--',
  modifiedAt: 1,
});

/** The listing of /workspace: a `src` directory and a `notes.txt` file. */
function workspace() {
  t.server.route('GET /api/v1/sandboxes/box/files/', (req, res) => {
    const path = req.query.get('path');
    if (path === '/workspace') {
      return sendJson(res, 200, {
        path,
        entries: [entry('src', '/workspace', true), entry('notes.txt', '/workspace', false)],
      });
    }
    if (path === '/')
      return sendJson(res, 403, { error: 'path / is outside the file roots', code: 'FORBIDDEN' });
    sendJson(res, 404, { error: `path not found: ${path}`, code: 'FILE_NOT_FOUND' });
  });
  statRoute({
    '/workspace': entry('workspace', '', true),
    '/workspace/src': entry('src', '/workspace', true),
    '/workspace/notes.txt': entry('notes.txt', '/workspace', false),
  });
}

/** `GET …/fs/stat` over a fixed set of paths; anything else is FILE_NOT_FOUND. */
function statRoute(known: Record<string, ReturnType<typeof entry>>) {
  t.server.route('GET /api/v1/sandboxes/box/fs/stat', (req, res) => {
    const path = req.query.get('path') ?? '';
    const hit = known[path];
    if (hit) return sendJson(res, 200, hit);
    sendJson(res, 404, { error: `path not found: ${path}`, code: 'FILE_NOT_FOUND' });
  });
}

describe('parseLocation', () => {
  it('tells sandbox paths from local ones', () => {
    expect(parseLocation('box:/workspace/a')).toEqual({
      kind: 'remote',
      sandbox: 'box',
      path: '/workspace/a',
    });
    expect(parseLocation('box:')).toEqual({ kind: 'remote', sandbox: 'box', path: '/workspace' });
    expect(parseLocation('./box:a')).toEqual({ kind: 'local', path: './box:a' });
    expect(parseLocation('/tmp/x')).toEqual({ kind: 'local', path: '/tmp/x' });
  });
});

describe('sandbox cp', () => {
  it('uploads a file into an existing remote directory', async () => {
    workspace();
    await writeFile(join(t.dir, 'main.py'), 'print(1)\n');
    t.server.route('PUT /api/v1/sandboxes/box/files/workspace/src/main.py', (req, res) => {
      expect(req.body.toString()).toBe('print(1)\n');
      sendJson(res, 201, { path: '/workspace/src/main.py', bytes: req.body.length });
    });
    const r = await cli('sandbox', 'cp', 'main.py', 'box:/workspace/src');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Uploaded main.py to box:/workspace/src/main.py (9B).');
  });

  it('uploads a directory recursively and reports JSON', async () => {
    workspace();
    await mkdir(join(t.dir, 'proj', 'lib'), { recursive: true });
    await writeFile(join(t.dir, 'proj', 'a.txt'), 'a');
    await writeFile(join(t.dir, 'proj', 'lib', 'b.txt'), 'bb');
    const got: Record<string, string> = {};
    for (const p of ['workspace/new/a.txt', 'workspace/new/lib/b.txt']) {
      t.server.route(`PUT /api/v1/sandboxes/box/files/${p}`, (req, res) => {
        got[p] = req.body.toString();
        sendJson(res, 201, { path: `/${p}`, bytes: req.body.length });
      });
    }
    const r = await cli('sandbox', 'cp', 'proj', 'box:/workspace/new', '-o', 'json');
    expect(r.code).toBe(0);
    expect(got).toEqual({ 'workspace/new/a.txt': 'a', 'workspace/new/lib/b.txt': 'bb' });
    expect(JSON.parse(r.stdout)).toEqual({
      source: 'proj',
      destination: 'box:/workspace/new',
      files: 2,
      bytes: 3,
    });
  });

  it('downloads a file into a local directory', async () => {
    workspace();
    t.server.route('GET /api/v1/sandboxes/box/files/workspace/notes.txt', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.end('remember\n');
    });
    await mkdir(join(t.dir, 'out'));
    const r = await cli('sandbox', 'cp', 'box:notes.txt', 'out');
    expect(r.code).toBe(0);
    expect(await readFile(join(t.dir, 'out', 'notes.txt'), 'utf8')).toBe('remember\n');
  });

  it('downloads a directory through the archive and unpacks it', async () => {
    workspace();
    t.server.route('GET /api/v1/sandboxes/box/archive', (req, res) => {
      expect(req.query.get('path')).toBe('/workspace/src');
      res.writeHead(200, { 'Content-Type': 'application/zip' });
      res.end(
        makeZip([
          { name: 'src/' },
          { name: 'src/app.py', data: 'print("hi")\n', descriptor: true },
          { name: 'src/pkg/' },
          { name: 'src/pkg/__init__.py', data: '' },
        ]),
      );
    });
    const r = await cli('sandbox', 'cp', 'box:/workspace/src', 'copy');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('(2 files');
    expect((await readdir(join(t.dir, 'copy'))).sort()).toEqual(['app.py', 'pkg']);
    expect(await readFile(join(t.dir, 'copy', 'app.py'), 'utf8')).toBe('print("hi")\n');
  });

  it('saves a directory as a zip when the destination ends in .zip', async () => {
    t.server.route('GET /api/v1/sandboxes/box/files/', (req, res) => {
      // /workspace's parent is outside the roots: the CLI falls back to listing the path itself.
      if (req.query.get('path') === '/')
        return sendJson(res, 403, { error: 'outside the file roots', code: 'FORBIDDEN' });
      sendJson(res, 200, { path: '/workspace', entries: [] });
    });
    statRoute({ '/workspace': entry('workspace', '', true) });
    const zip = makeZip([{ name: 'a.txt', data: 'a' }]);
    t.server.route('GET /api/v1/sandboxes/box/archive', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/zip' });
      res.end(zip);
    });
    const r = await cli('sandbox', 'cp', 'box:/workspace', 'ws.zip');
    expect(r.code).toBe(0);
    expect((await readFile(join(t.dir, 'ws.zip'))).equals(zip)).toBe(true);
  });

  it('exits 3 for a missing remote path and 2 for two local paths', async () => {
    workspace();
    const missing = await cli('sandbox', 'cp', 'box:/workspace/ghost.txt', '.');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('path not found: /workspace/ghost.txt');
    expect(missing.stderr).toContain('agenttier sandbox files ls box');
    const local = await cli('sandbox', 'cp', 'a', 'b');
    expect(local.code).toBe(2);
    const absent = await cli('sandbox', 'cp', 'nope.txt', 'box:/workspace/');
    expect(absent.code).toBe(3);
    expect(absent.stderr).toContain('local path nope.txt does not exist');
  });
});
