import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sendJson } from '@agenttier/sdk/testing';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../testing/run-cli.ts';
import { parseTemplateDocuments } from './manifest.ts';
import { useCliTestServer } from '../../testing/cli-test-server.ts';

const t = useCliTestServer();
const { cli } = t;

const view = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  kind: 'ClusterSandboxTemplate',
  description: `the ${name} template`,
  image: `agenttier/${name}:latest`,
  mode: 'code',
  resourceVersion: '1',
  spec: { image: { repository: `agenttier/${name}:latest` }, description: `the ${name} template` },
  ...extra,
});

const MULTI = `
apiVersion: agenttier.io/v1alpha1
kind: ClusterSandboxTemplate
metadata:
  name: py
spec:
  image: { repository: "python:3.12" }
  mode: code
  idleTimeout: 30m
---
# the flat shape that \`template get -o yaml\` prints
name: scoped
kind: SandboxTemplate
spec:
  image: { repository: "node:22" }
---
`;

describe('parseTemplateDocuments', () => {
  it('reads manifests, flat objects, JSON arrays and Lists', () => {
    expect(parseTemplateDocuments(MULTI, { file: 'f', defaultNamespace: 'team' })).toEqual([
      {
        name: 'py',
        kind: 'ClusterSandboxTemplate',
        spec: { image: { repository: 'python:3.12' }, mode: 'code', idleTimeout: '30m' },
        origin: 'document 1',
      },
      {
        name: 'scoped',
        kind: 'SandboxTemplate',
        namespace: 'team',
        spec: { image: { repository: 'node:22' } },
        origin: 'document 2',
      },
    ]);
    const json = JSON.stringify({
      kind: 'List',
      items: [
        { name: 'a', spec: {} },
        { name: 'b', spec: {} },
      ],
    });
    expect(parseTemplateDocuments(json, { file: 'f' }).map((d) => d.name)).toEqual(['a', 'b']);
    expect(parseTemplateDocuments('[{"name":"c","spec":{}}]', { file: 'f' }).map((d) => d.name)).toEqual([
      'c',
    ]);
  });

  it('lists every problem at once', () => {
    const bad = `
kind: Sandbox
metadata: { name: x }
spec: {}
---
kind: ClusterSandboxTemplate
metadata: { name: Bad_Name }
spec: { timeout: forever, mode: turbo }
---
kind: ClusterSandboxTemplate
metadata: { name: nospec }
`;
    let message = '';
    try {
      parseTemplateDocuments(bad, { file: 'bad.yaml' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('bad.yaml is not a valid template file');
    expect(message).toContain('document 1 (x): kind Sandbox is not a template');
    expect(message).toContain('document 2 (Bad_Name): name must be lowercase');
    expect(message).toContain('document 2 (Bad_Name): spec.timeout must be a duration');
    expect(message).toContain('document 2 (Bad_Name): spec.mode');
    expect(message).toContain('document 3 (nospec): spec is required');
  });

  it('reports YAML syntax errors', () => {
    expect(() => parseTemplateDocuments('name: [unclosed', { file: 'x.yaml' })).toThrow(/document 1:/);
  });
});

describe('template commands', () => {
  it('lists templates in a table', async () => {
    t.server.route('GET /api/v1/templates', (_req, res) =>
      sendJson(res, 200, { templates: [view('general-coding'), view('minimal-shell', { mode: 'agent' })] }),
    );
    const r = await cli('template', 'list');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+MODE\s+IMAGE\s+DESCRIPTION$/);
    expect(lines[2]).toMatch(
      /^minimal-shell\s+agent\s+agenttier\/minimal-shell:latest\s+the minimal-shell template$/,
    );
  });

  it('gets a template with its spec, and -o yaml can be applied back', async () => {
    t.server.route('GET /api/v1/templates/general-coding', (_req, res) =>
      sendJson(res, 200, view('general-coding')),
    );
    const r = await cli('template', 'get', 'general-coding');
    expect(r.stdout).toMatch(/^Image:\s+agenttier\/general-coding:latest$/m);
    expect(r.stdout).toContain('Spec:\n  image:\n    repository: agenttier/general-coding:latest');
    const yaml = await cli('template', 'get', 'general-coding', '-o', 'yaml');
    expect(parseTemplateDocuments(yaml.stdout, { file: 'x' })[0]?.name).toBe('general-coding');
  });

  it('applies a multi-document file: created and configured', async () => {
    await writeFile(join(t.dir, 't.yaml'), MULTI);
    t.server.route('PUT /api/v1/templates/py', (req, res) =>
      sendJson(res, 201, view('py', { spec: req.json<{ spec: unknown }>().spec })),
    );
    t.server.route('PUT /api/v1/templates/scoped', (req, res) => {
      expect(req.query.get('kind')).toBe('SandboxTemplate');
      expect(req.query.get('namespace')).toBe('team');
      expect(req.json()).toEqual({
        name: 'scoped',
        kind: 'SandboxTemplate',
        namespace: 'team',
        spec: { image: { repository: 'node:22' } },
      });
      sendJson(res, 200, view('scoped', { kind: 'SandboxTemplate', namespace: 'team' }));
    });
    const r = await cli('template', 'apply', '-f', 't.yaml', '-n', 'team');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('clustersandboxtemplate/py created\nsandboxtemplate/scoped configured\n');
  });

  it('applies from stdin as JSON output', async () => {
    t.server.route('PUT /api/v1/templates/py', (_req, res) => sendJson(res, 200, view('py')));
    const r = await runCli(['template', 'apply', '-f', '-', '-o', 'json'], {
      url: t.server.url,
      stdin: '{"kind":"ClusterSandboxTemplate","metadata":{"name":"py"},"spec":{}}',
    });
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { name: string }[])[0]?.name).toBe('py');
  });

  it('exits 5 on an invalid file without sending anything; --dry-run sends nothing either', async () => {
    await writeFile(
      join(t.dir, 'bad.yaml'),
      'kind: ClusterSandboxTemplate\nmetadata: {name: x}\nspec: {timeout: never}\n',
    );
    const r = await cli('template', 'apply', '-f', 'bad.yaml');
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('spec.timeout must be a duration');
    await writeFile(join(t.dir, 'ok.yaml'), MULTI);
    const dry = await cli('template', 'apply', '-f', 'ok.yaml', '--dry-run');
    expect(dry.stdout).toContain('clustersandboxtemplate/py valid (dry run)');
    expect(t.server.requests).toHaveLength(0);
  });

  it('maps a template in use to exit 4 and an unknown one to exit 3', async () => {
    t.server.route('DELETE /api/v1/templates/busy', (_req, res) =>
      sendJson(res, 409, {
        error: 'cannot delete template: sandbox(es) a still use it',
        code: 'TEMPLATE_IN_USE',
      }),
    );
    t.server.route('GET /api/v1/templates/ghost', (_req, res) =>
      sendJson(res, 404, { error: 'template "ghost" not found', code: 'TEMPLATE_NOT_FOUND' }),
    );
    const busy = await cli('template', 'delete', 'busy');
    expect(busy.code).toBe(4);
    expect(busy.stderr).toContain('Delete the sandboxes that use it first');
    const ghost = await cli('template', 'get', 'ghost');
    expect(ghost.code).toBe(3);
    expect(ghost.stderr).toContain('Run `agenttier template list` to see names');
  });
});
