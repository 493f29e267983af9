/**
 * Resource use and the events feed of a real sandbox on the real engine: the figures are the
 * container's own cgroup limits and use (through sandboxd), the feed follows create → stop → resume →
 * delete from the controller's own transitions, and neither a secret in env nor a command's input
 * reaches the feed.
 */
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '@agenttier/contract';
import { eventually } from '@agenttier/testkit';
import { useLocalPlatform } from './testing/local-test-bed.ts';

const bed = useLocalPlatform('it-usage', {
  async setup() {
    const r = await bed.api('POST', '/api/v1/sandboxes', {
      name: 'meter',
      namespace: bed.ns,
      template: 'minimal-shell',
      resources: { limits: { cpu: '1', memory: '512Mi' }, pids: 300 },
      storage: { size: '256Mi' },
      env: [{ name: 'API_TOKEN', value: SECRET }],
    });
    expect(r.status, r.text).toBe(201);
    await bed.waitForPhase('meter', 'Running', 120_000);
  },
});
const { ns } = bed;
const q = `?namespace=${ns}`;
const SECRET = 'sk-test-usage-9f8e7d6c5b4a';
const INPUT_MARKER = 'typed-input-7c1e90';

const usage = () => bed.api('GET', `/api/v1/sandboxes/meter/usage${q}`);
const events = async () => {
  const r = await bed.api('GET', `/api/v1/sandboxes/meter/events${q}`);
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
    const started = await bed.api('POST', `/api/v1/sandboxes/meter/processes${q}`, {
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
      await bed.api('DELETE', `/api/v1/sandboxes/meter/processes/${started.json.id}${q}`);
    }
  });
});

describe('the events feed', () => {
  it('follows create, stop and resume (usage of the stopped sandbox is 409)', async () => {
    await bed.exec('meter', ['sh', '-c', `echo ${INPUT_MARKER} > /dev/null`], {
      stdin: INPUT_MARKER,
    });
    expect((await events()).map((e) => e.reason)).toEqual(['Provisioned', 'Created', 'Running']);
    expect((await bed.api('POST', `/api/v1/sandboxes/meter/stop${q}`)).status).toBe(200);
    await bed.waitForPhase('meter', 'Stopped');
    const stopped = await usage();
    expect([stopped.status, stopped.json.code]).toEqual([409, 'SANDBOX_NOT_RUNNING']);
    await eventually(async () => (await events()).some((e) => e.reason === 'Stopped'), 'a Stopped event');
    expect((await bed.api('POST', `/api/v1/sandboxes/meter/resume${q}`)).status).toBe(200);
    await bed.waitForPhase('meter', 'Running', 120_000);
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
    const sb = (await bed.platform.store.get<Sandbox>('Sandbox', { namespace: ns, name: 'meter' }))!;
    expect((await bed.platform.sandboxEvents.list(sb)).length).toBeGreaterThan(0);
    expect((await bed.api('DELETE', `/api/v1/sandboxes/meter${q}`)).status).toBe(204);
    await bed.waitForPhase('meter', 'Gone', 120_000);
    await eventually(
      async () => (await bed.platform.sandboxEvents.list(sb)).length === 0,
      'the events of a deleted sandbox to go',
    );
  });
});
