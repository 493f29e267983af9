import { describe, expect, it } from 'vitest';
import type { Sandbox } from '@agenttier/contract';
import { API_VERSION, MAX_EVENT_MESSAGE_CHARS, PlatformError } from '@agenttier/contract';
import { MemoryRuntime, MemoryStore } from '@agenttier/testkit';
import { BUILTIN_TEMPLATES } from './builtin-templates.ts';
import type { Clock } from './ports.ts';
import { silentLogger } from './ports.ts';
import { createSandboxReconciler } from './sandbox-reconciler.ts';
import type { SandboxEventInput } from './sandbox-events.ts';
import { childEvent, REDACTED, redactedMessage, transitionEvent } from './sandbox-events.ts';

const SECRET = 'sk-live-4f9c2e81d7';

function sandbox(name: string): Sandbox {
  return {
    apiVersion: API_VERSION,
    kind: 'Sandbox',
    metadata: { name, namespace: 'default' },
    spec: {
      templateRef: { name: 'minimal-shell' },
      env: [
        { name: 'API_TOKEN', value: SECRET },
        { name: 'DEBUG', value: '1' },
      ],
    },
  };
}

async function reconcileWithEvents(failWith?: string) {
  const store = new MemoryStore();
  for (const t of BUILTIN_TEMPLATES) await store.create(structuredClone(t));
  const runtime = new MemoryRuntime();
  if (failWith) runtime.failOn('ensureVolume', new PlatformError('RUNTIME_FAILED', failWith), { times: 1 });
  let nowMs = Date.parse('2026-03-01T12:00:00Z');
  const clock: Clock = { now: () => nowMs };
  const events: SandboxEventInput[] = [];
  const reconcile = createSandboxReconciler({
    store,
    runtime,
    clock,
    logger: silentLogger,
    onEvent: (_sb, e) => events.push(e),
  });
  await store.create(sandbox('ev'));
  const get = () => store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'ev' });
  for (let i = 0; i < 30 && (await get())?.status?.phase !== 'Running'; i++) {
    await reconcile('default/ev');
    nowMs += 60_000; // past any back-off the status asks for
  }
  return { events, phase: (await get())?.status?.phase };
}

describe('the events feed of a reconcile', () => {
  it('records each phase change with its reason', async () => {
    const { events, phase } = await reconcileWithEvents();
    expect(phase).toBe('Running');
    expect(events.map((e) => `${e.type}/${e.reason}`)).toEqual([
      'Normal/Provisioned',
      'Normal/Created',
      'Normal/Creating',
      'Normal/Running',
    ]);
  });

  it('records a failed pass as a BackOff Warning, without the env values the error quoted', async () => {
    const { events, phase } = await reconcileWithEvents(`create failed: container env API_TOKEN=${SECRET}`);
    expect(phase).toBe('Running');
    const backOff = events.find((e) => e.reason === 'BackOff');
    expect(backOff).toMatchObject({ type: 'Warning' });
    expect(backOff!.message).toContain(`API_TOKEN=${REDACTED}`);
    expect(JSON.stringify(events)).not.toContain(SECRET);
  });
});

describe('event messages', () => {
  it('hide the value of an environment entry runc quotes (a secret is not in spec.env)', () => {
    const msg = `environment variable value can't contain null(\\x00): "GH_TOKEN=ghp_abc\\x00d\\"ef": unknown`;
    expect(redactedMessage(sandbox('x'), msg)).toBe(
      `environment variable value can't contain null(\\x00): "GH_TOKEN=${REDACTED}": unknown`,
    );
  });

  it('keep short values (they would blank out ordinary words) and cap the length', () => {
    const sb = sandbox('x');
    expect(redactedMessage(sb, 'exit 1')).toBe('exit 1');
    expect(redactedMessage(sb, 'x'.repeat(5000))).toHaveLength(MAX_EVENT_MESSAGE_CHARS);
  });

  it('say the workspace is kept only when it is', () => {
    expect(childEvent('removeWorkload', 'deleted')?.message).toMatch(/workspace is kept/);
    expect(childEvent('removeWorkload', 'deleted', true)?.message).toBe('Workload removed');
    expect(childEvent('removeVolume', 'unchanged', true)).toBeUndefined();
  });

  it('map stops by why they happened', () => {
    const sb = { ...sandbox('x'), status: { phase: 'Stopped' as const, reason: 'IdleTimeout' } };
    expect(transitionEvent(sb, 'Running', 'Stopped', 'idle for 30m')).toEqual({
      type: 'Normal',
      reason: 'IdleTimeout',
      message: 'idle for 30m',
    });
  });
});
