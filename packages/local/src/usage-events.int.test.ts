/**
 * Resource use and the events feed of a real sandbox on the real engine: the figures are the
 * container's own cgroup limits and use (through sandboxd), the feed follows create → stop → resume →
 * delete from the controller's own transitions, and neither a secret in env nor a command's input
 * reaches the feed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '@agenttier/contract';
import { eventually } from '@agenttier/testkit';
import type { TestPlatform } from './testing/platform.ts';
import {
  api,
  execIn,
  startTestPlatform,
  stopTestPlatform,
  testNamespace,
  waitForPhase,
} from './testing/platform.ts';

const ns = testNamespace('it-usage');
const q = `?namespace=${ns}`;
const SECRET = 'sk-test-usage-9f8e7d6c5b4a';
const INPUT_MARKER = 'typed-input-7c1e90';
let platform: TestPlatform;
let base: string;

beforeAll(async () => {
  platform = await startTestPlatform();
  base = platform.url;
  const r = await api(base, 'POST', '/api/v1/sandboxes', {
    name: 'meter',
    namespace: ns,
    template: 'minimal-shell',
    resources: { limits: { cpu: '1', memory: '512Mi' }, pids: 300 },
    storage: { size: '256Mi' },
    env: [{ name: 'API_TOKEN', value: SECRET }],
  });
  expect(r.status, r.text).toBe(201);
  await waitForPhase(base, ns, 'meter', 'Running', 120_000);
}, 180_000);

afterAll(async () => {
  await stopTestPlatform(platform, { namespace: ns });
});

const usage = () => api(base, 'GET', `/api/v1/sandboxes/meter/usage${q}`);
const events = async () => {
  const r = await api(base, 'GET', `/api/v1/sandboxes/meter/events${q}`);
  expect(r.status, r.text).toBe(200);
  return r.json.events as Array<{ type: string; reason: string; message: string; count: number }>;
};

describe('usage of a running sandbox', () => {
  it("is its container's cgroup: the limits it was created with, and what it uses", async () => {
    const r = await usage();
    expect(r.status, r.text).toBe(200);
    expect(r.json.cgroup).toMatch(/^v[12]$/);
    expect(r.json.memory.limitBytes).toBe(512 * 1024 * 1024);
    expect(r.json.memory.bytes).toBeGreaterThan(1 << 20);
    expect(r.json.cpu.limitCores).toBe(1);
    expect(r.json.pids.max).toBe(300);
    expect(r.json.pids.current).toBeGreaterThanOrEqual(2);
    expect(r.json.storage.path).toBe('/workspace');
    expect(r.json.storage.limitBytes).toBeGreaterThan(0);
    expect(r.json.unavailable).toEqual({});
  });

  it('shows a busy process as CPU use', async () => {
    const started = await api(base, 'POST', `/api/v1/sandboxes/meter/processes${q}`, {
      command: ['sh', '-c', 'while :; do :; done'],
      timeout: 60,
    });
    expect(started.status, started.text).toBe(201);
    try {
      const busy = await eventually(
        async () => {
          const r = await usage();
          return r.json.cpu.usageCores > 0.2 && r.json;
        },
        'a busy loop to show as CPU use',
        30_000,
      );
      expect(busy.cpu.percent).toBeGreaterThan(20);
    } finally {
      await api(base, 'DELETE', `/api/v1/sandboxes/meter/processes/${started.json.id}${q}`);
    }
  });
});

describe('the events feed', () => {
  it('follows create, stop and resume (usage of the stopped sandbox is 409)', async () => {
    await execIn(base, ns, 'meter', ['sh', '-c', `echo ${INPUT_MARKER} > /dev/null`], {
      stdin: INPUT_MARKER,
    });
    expect((await events()).map((e) => e.reason)).toEqual(['Provisioned', 'Created', 'Running']);
    expect((await api(base, 'POST', `/api/v1/sandboxes/meter/stop${q}`)).status).toBe(200);
    await waitForPhase(base, ns, 'meter', 'Stopped');
    const stopped = await usage();
    expect([stopped.status, stopped.json.code]).toEqual([409, 'SANDBOX_NOT_RUNNING']);
    await eventually(async () => (await events()).some((e) => e.reason === 'Stopped'), 'a Stopped event');
    expect((await api(base, 'POST', `/api/v1/sandboxes/meter/resume${q}`)).status).toBe(200);
    await waitForPhase(base, ns, 'meter', 'Running', 120_000);
    const feed = await eventually(async () => {
      const now = await events();
      return now.at(-1)?.reason === 'Running' && now.length > 3 && now;
    }, 'the events of the resume');
    expect(feed.map((e) => `${e.type}/${e.reason}`)).toEqual([
      'Normal/Provisioned',
      'Normal/Created',
      'Normal/Running',
      'Normal/Removed',
      'Normal/Stopped',
      'Normal/Created',
      'Normal/Running',
    ]);
    const text = JSON.stringify(feed);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(INPUT_MARKER);
  });

  it('goes with the sandbox', async () => {
    const sb = (await platform.store.get<Sandbox>('Sandbox', { namespace: ns, name: 'meter' }))!;
    expect((await platform.sandboxEvents.list(sb)).length).toBeGreaterThan(0);
    expect((await api(base, 'DELETE', `/api/v1/sandboxes/meter${q}`)).status).toBe(204);
    await waitForPhase(base, ns, 'meter', 'Gone', 120_000);
    await eventually(
      async () => (await platform.sandboxEvents.list(sb)).length === 0,
      'the events of a deleted sandbox to go',
    );
  });
});
