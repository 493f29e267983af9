/**
 * The tabs' server-sent-event consumers against a real HTTP server: the file-watch feed (batched
 * refreshes, recovery after the feed breaks, giving up on a sandbox without a daemon) and agent runs
 * (detached start, streamed output, re-attach after a broken stream without repeating lines, cancel).
 */
import { describe, expect, it } from 'vitest';
import { openSse, sendJson } from '@agenttier/sdk/testing';
import { eventually } from '@agenttier/testkit';
import { useSdkTestServer } from '../testing/sdk-test-server.ts';
import { watchFiles, type WatchStatus } from './file-watch.ts';
import { InvokeRun } from './invoke-run.ts';

const sdk = useSdkTestServer();

type Sse = ReturnType<typeof openSse>;

describe('watchFiles', () => {
  it('batches a burst into one refresh, and asks for a full refresh after the feed broke', async () => {
    const feeds: Sse[] = [];
    sdk.server.route('GET /api/v1/sandboxes/demo/fs/watch', (req, res) => {
      expect(req.query.get('path')).toBe('/workspace');
      const sse = openSse(res);
      sse.send('ready', { path: '/workspace', recursive: true });
      feeds.push(sse);
    });
    const changes: Array<Set<string> | 'all'> = [];
    const statuses: WatchStatus['kind'][] = [];
    const each: string[] = [];
    const stop = watchFiles(sdk.client.sandbox('demo').files, {
      root: '/workspace',
      onChange: (d) => changes.push(d),
      onFileChange: (path, type) => each.push(`${type} ${path}`),
      onStatus: (s) => statuses.push(s.kind),
      batchMs: 50,
      retryDelayMs: 10,
    });
    await eventually(() => feeds.length === 1, 'the watch request');
    feeds[0]!.send('change', { type: 'created', path: '/workspace/src/a.ts' });
    feeds[0]!.send('change', { type: 'modified', path: '/workspace/src/b.ts' });
    feeds[0]!.send('change', { type: 'deleted', path: '/workspace/old' });
    await eventually(() => changes.length === 1, 'one batched change');
    expect(each).toEqual([
      'created /workspace/src/a.ts',
      'modified /workspace/src/b.ts',
      'deleted /workspace/old',
    ]);
    expect([...(changes[0] as Set<string>)].sort()).toEqual([
      '/workspace',
      '/workspace/old',
      '/workspace/src',
      '/workspace/src/a.ts',
    ]);

    feeds[0]!.destroy();
    await eventually(() => feeds.length === 2, 'the watch to come back');
    await eventually(() => changes.at(-1) === 'all', 'a full refresh after the gap');
    expect(statuses).toContain('retrying');
    expect(statuses.at(-1)).toBe('live');
    stop();
  });

  it('turns itself off with the reason when the sandbox cannot watch', async () => {
    sdk.server.route('GET /api/v1/sandboxes/demo/fs/watch', (_req, res) =>
      sendJson(res, 503, { error: 'no daemon', code: 'UNAVAILABLE', message: 'no daemon', requestId: 'r' }),
    );
    let last: WatchStatus | undefined;
    const stop = watchFiles(sdk.client.sandbox('demo').files, {
      root: '/workspace',
      onChange: () => {},
      onStatus: (s) => (last = s),
      retryDelayMs: 10,
    });
    await eventually(() => last?.kind === 'off', 'the watch to give up');
    expect(last).toMatchObject({ kind: 'off', next: 'Use Refresh to reload the list.' });
    expect(sdk.server.requests.filter((r) => r.path.endsWith('/fs/watch'))).toHaveLength(1);
    stop();
  });
});

describe('InvokeRun', () => {
  it('starts detached, streams the output, re-attaches after a broken stream without repeating lines', async () => {
    let input = '';
    sdk.server.route('POST /api/v1/sandboxes/agent/invoke', (req, res) => {
      expect(req.query.get('detach')).toBe('true');
      input = req.body.toString();
      const sse = openSse(res, { 'X-Invoke-Id': 'inv-1' });
      sse.send('start', { invokeId: 'inv-1', startedAt: 1 }, 1);
      sse.end();
    });
    const attaches: Array<string | undefined> = [];
    let firstFeed: Sse | undefined;
    sdk.server.route('GET /api/v1/sandboxes/agent/invokes/inv-1/stream', (req, res) => {
      const after = req.headers['last-event-id'] as string | undefined;
      attaches.push(after);
      const sse = openSse(res);
      if (after === undefined) {
        sse.send('start', { invokeId: 'inv-1', startedAt: 1 }, 1);
        sse.send('log', { stream: 'stdout', data: 'line 1' }, 2);
        sse.send('log', { stream: 'stderr', data: 'warn' }, 3);
        firstFeed = sse;
      } else {
        expect(after).toBe('3');
        sse.send('log', { stream: 'stdout', data: 'line 2' }, 4);
        sse.send('exit', { invokeId: 'inv-1', exitCode: 0, durationMs: 1234, reason: 'completed' }, 5);
        sse.end();
      }
    });
    const run = InvokeRun.start(sdk.client.sandbox('agent').agent, { input: 'hello agent' });
    await eventually(() => run.output.text === 'line 1\n[stderr] warn\n', 'the first lines');
    expect(run.state).toEqual({ kind: 'running', invokeId: 'inv-1' });
    firstFeed!.destroy(); // the connection breaks mid-run
    await eventually(() => run.state.kind === 'finished', 'the run to finish');
    expect(run.state).toEqual({
      kind: 'finished',
      invokeId: 'inv-1',
      exitCode: 0,
      durationMs: 1234,
      reason: 'completed',
    });
    expect(run.output.text).toBe('line 1\n[stderr] warn\nline 2\n');
    expect(input).toBe('hello agent');
    expect(attaches).toEqual([undefined, '3']);
  });

  it('cancels a running invoke', async () => {
    let feed: Sse | undefined;
    sdk.server.route('GET /api/v1/sandboxes/agent/invokes/inv-2/stream', (_req, res) => {
      feed = openSse(res);
      feed.send('start', { invokeId: 'inv-2', startedAt: 1 }, 1);
      feed.send('log', { stream: 'stdout', data: 'working' }, 2);
    });
    sdk.server.route('POST /api/v1/sandboxes/agent/invoke/cancel', (req, res) => {
      expect(req.json()).toEqual({ invokeId: 'inv-2' });
      feed?.send('exit', { invokeId: 'inv-2', exitCode: -1, durationMs: 10, reason: 'canceled' }, 3);
      feed?.end();
      sendJson(res, 200, { invokeId: 'inv-2', status: 'canceling' });
    });
    const run = InvokeRun.attach(sdk.client.sandbox('agent').agent, 'inv-2');
    await eventually(() => run.output.text === 'working\n', 'the output so far');
    await run.cancel();
    await eventually(() => run.state.kind === 'finished', 'the canceled exit');
    expect(run.state).toMatchObject({ reason: 'canceled', exitCode: -1 });
  });

  it('explains a refused start', async () => {
    sdk.server.route('POST /api/v1/sandboxes/agent/invoke', (_req, res) =>
      sendJson(res, 424, {
        error: 'no entrypoint',
        code: 'NOT_CONFIGURED',
        message: 'no entrypoint',
        requestId: 'r',
      }),
    );
    const run = InvokeRun.start(sdk.client.sandbox('agent').agent, { input: '' });
    await eventually(() => run.state.kind === 'failed', 'the failure');
    expect(run.state).toMatchObject({
      kind: 'failed',
      error: { next: 'Configure the agent first (Configure, above), then invoke it.' },
    });
  });
});
