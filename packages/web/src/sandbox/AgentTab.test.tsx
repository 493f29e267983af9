/**
 * The Agent tab fills its Configure form from `GET …/agent/config` and the files' current contents,
 * through the real SDK against a real HTTP server; it never overwrites what the person typed, and
 * leaves out a file it cannot put back (sending it back empty would overwrite it in the sandbox).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentConfigView, SandboxView } from '@agenttier/sdk';
import { sandboxView, sendJson } from '@agenttier/sdk/testing';
import type { TestHandler } from '@agenttier/sdk/testing';
import { renderWithServer, waitFor, type Rendered } from '../testing/render.tsx';
import AgentTab from './AgentTab.tsx';

let ui: Rendered | undefined;
afterEach(async () => {
  await ui?.close();
  ui = undefined;
});

const view = sandboxView('bot', 'Running', { mode: 'agent' }) as unknown as SandboxView;
const configured: AgentConfigView = {
  configured: true,
  lastConfiguredAt: '2026-12-06T07:00:00Z',
  installCommandHash: 'ab'.repeat(32),
  entrypoint: ['python3', '/workspace/my agent.py', '--mode', "it's"],
  installExitCode: 0,
  maxConcurrentInvokes: 0,
  defaultInvokeTimeoutSeconds: 1800,
  installCommand: ['pip', 'install', '-r', '/workspace/requirements.txt'],
  files: [
    { path: '/workspace/my agent.py', sizeBytes: 20 },
    { path: '/workspace/requirements.txt', sizeBytes: 9 },
    { path: '/workspace/gone.py', sizeBytes: 3 },
  ],
  envNames: ['API_TOKEN'],
};

function routes(
  config: AgentConfigView,
  extra: Record<string, TestHandler> = {},
): Record<string, TestHandler> {
  return {
    'GET /api/v1/sandboxes/bot/agent/config': (_req, res) => sendJson(res, 200, config),
    'GET /api/v1/sandboxes/bot/configure/install-log': (_req, res) => sendJson(res, 200, { log: '' }),
    'GET /api/v1/sandboxes/bot/invokes': (_req, res) => sendJson(res, 200, { invokes: [] }),
    'GET /api/v1/sandboxes/bot/files/workspace/my%20agent.py': (_req, res) =>
      void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end('print("configured")\n'),
    'GET /api/v1/sandboxes/bot/files/workspace/requirements.txt': (_req, res) =>
      void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end('requests\n'),
    'GET /api/v1/sandboxes/bot/files/workspace/gone.py': (_req, res) =>
      sendJson(res, 404, {
        error: 'no such file',
        code: 'FILE_NOT_FOUND',
        message: 'no such file',
        requestId: 'r',
      }),
    ...extra,
  };
}

describe('Agent tab: Configure prefilled from the read API', () => {
  it('fills the commands (quoted back to the same argv) and each file with its current contents', async () => {
    ui = await renderWithServer(<AgentTab sandbox={view} />, routes(configured));
    const r = ui;
    await waitFor(() =>
      expect(
        r.host.querySelector('[data-prefill="configured"]'),
        r.host.innerHTML.slice(0, 1500),
      ).not.toBeNull(),
    );
    expect(r.field('Entrypoint').value).toBe(`python3 '/workspace/my agent.py' --mode 'it'\\''s'`);
    expect(r.field('Install command').value).toBe('pip install -r /workspace/requirements.txt');
    const paths = [...r.host.querySelectorAll<HTMLInputElement>('input[id^="agent-file-path-"]')].map(
      (i) => i.value,
    );
    expect(paths).toEqual(['/workspace/my agent.py', '/workspace/requirements.txt']);
    const contents = [
      ...r.host.querySelectorAll<HTMLTextAreaElement>('textarea[id^="agent-file-content-"]'),
    ].map((t) => t.value);
    expect(contents).toEqual(['print("configured")\n', 'requests\n']);
    expect(r.host.textContent).toContain('/workspace/gone.py could not be read');
    expect(r.host.textContent).toContain('API_TOKEN (values are not shown)');
  });

  it('sends back exactly what it filled in when configured again', async () => {
    ui = await renderWithServer(
      <AgentTab sandbox={view} />,
      routes(configured, {
        'POST /api/v1/sandboxes/bot/configure': (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.end(
            `event: result\ndata: ${JSON.stringify({ installExitCode: 0, skipped: true, installCommandHash: 'x' })}\n\n`,
          );
        },
      }),
    );
    const r = ui;
    await waitFor(() => expect(r.field('Entrypoint').value).toContain('my agent.py'));
    r.button('Configure').click();
    await waitFor(() => expect(r.writes()).toHaveLength(1));
    expect(r.writes()[0]!.body).toEqual({
      files: [
        { path: '/workspace/my agent.py', content: 'print("configured")\n' },
        { path: '/workspace/requirements.txt', content: 'requests\n' },
      ],
      installCommand: configured.installCommand,
      entrypoint: configured.entrypoint,
    });
  });

  it('keeps the starter values when nothing was configured yet', async () => {
    ui = await renderWithServer(
      <AgentTab sandbox={view} />,
      routes({ configured: false, entrypoint: [], installCommand: [], files: [], envNames: [] }),
    );
    const r = ui;
    await waitFor(() => expect(r.host.querySelector('[data-prefill="starter"]')).not.toBeNull());
    expect(r.field('Entrypoint').value).toBe('python3 /workspace/agent.py');
  });
});
