import { sandboxView, sendJson } from '@agenttier/sdk/testing';
import { useTestServer } from '@agenttier/sdk/testing/use-test-server';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../testing/run-cli.ts';

const server = useTestServer();
const cli = (...argv: string[]) => runCli(argv, { url: server.url });

const usage = (name: string) => ({
  sandboxId: name,
  namespace: 'default',
  sampledAt: '2026-03-01T12:00:00.000Z',
  cgroup: 'v2',
  cpu: { usageCores: 0.5, limitCores: 2, percent: 25, windowMs: 1000 },
  memory: { bytes: 300 << 20, workingSetBytes: 256 << 20, limitBytes: 1 << 30 },
  pids: { current: 12, max: 512 },
  storage: { path: '/workspace', usedBytes: 2 ** 30, limitBytes: 5 * 2 ** 30 },
  unavailable: {},
});

describe('sandbox top', () => {
  it('measures every running sandbox when no name is given, in its own namespace', async () => {
    server.route('GET /api/v1/sandboxes', (_req, res) =>
      sendJson(res, 200, {
        sandboxes: [sandboxView('a', 'Running'), sandboxView('b', 'Running', { namespace: 'team' })],
      }),
    );
    server.route('GET /api/v1/sandboxes/a/usage', (_req, res) => sendJson(res, 200, usage('a')));
    server.route('GET /api/v1/sandboxes/b/usage', (_req, res) =>
      sendJson(res, 200, { ...usage('b'), cpu: null, unavailable: { cpu: 'no cgroup files' } }),
    );
    const r = await cli('sandbox', 'top');
    expect(r.code, r.stderr).toBe(0);
    const [head, a, b] = r.stdout
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s{2,}/));
    expect(head).toEqual(['NAME', 'CPU (CORES)', 'CPU%', 'MEMORY', 'PIDS', 'DISK']);
    expect(a).toEqual(['a', '0.50/2.00', '25%', '256Mi/1.0Gi (25%)', '12/512', '1.0Gi/5.0Gi']);
    expect(b?.slice(0, 3)).toEqual(['b', '-', '-']);
    expect(server.requests.find((q) => q.path === '/api/v1/sandboxes')?.query.get('status')).toBe('Running');
    expect(server.requests.find((q) => q.path === '/api/v1/sandboxes/b/usage')?.query.get('namespace')).toBe(
      'team',
    );
  });

  it('shows a stopped sandbox it was asked about as not measured', async () => {
    server.route('GET /api/v1/sandboxes/s/usage', (_req, res) =>
      sendJson(res, 409, { error: 'sandbox "s" is not running', code: 'SANDBOX_NOT_RUNNING' }),
    );
    const r = await cli('sandbox', 'top', 's', '-o', 'json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([{ sandboxId: 's', error: 'not running' }]);
  });
});

describe('sandbox events', () => {
  it('prints the feed like kubectl', async () => {
    server.route('GET /api/v1/sandboxes/demo/events', (_req, res) =>
      sendJson(res, 200, {
        events: [
          {
            type: 'Warning',
            reason: 'BackOff',
            message: 'engine said no; retrying with back-off',
            count: 3,
            firstTimestamp: '2026-03-01T12:00:00Z',
            lastTimestamp: new Date(Date.now() - 30_000).toISOString(),
          },
        ],
      }),
    );
    const r = await cli('sandbox', 'events', 'demo');
    expect(r.code, r.stderr).toBe(0);
    const [head, row] = r.stdout
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s{2,}/));
    expect(head).toEqual(['LAST SEEN', 'TYPE', 'REASON', 'COUNT', 'MESSAGE']);
    expect(row?.slice(1)).toEqual(['Warning', 'BackOff', '3', 'engine said no; retrying with back-off']);
  });
});
