/**
 * The reconcile contract (issue 10): any throw is retried, terminal errors are raised where they are
 * known, results say "now / after N ms / until changed" explicitly, and every log line of a pass names
 * it. Against the in-memory Store and Runtime of @agenttier/testkit (both pass their port suites).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '@agenttier/contract';
import { API_VERSION, PlatformError } from '@agenttier/contract';
import { MemoryRuntime, MemoryStore, eventually } from '@agenttier/testkit';
import { BUILTIN_TEMPLATES } from './builtin-templates.ts';
import type { Controller } from './controller.ts';
import { createController } from './controller.ts';
import type { Clock, Logger } from './ports.ts';
import { silentLogger } from './ports.ts';
import { TerminalError, requeueNow, requeueWhenChanged } from './reconcile-result.ts';
import { createSandboxReconciler } from './sandbox-reconciler.ts';

const clock: Clock = { now: () => Date.parse('2026-03-01T12:00:00Z') };

async function setup() {
  const store = new MemoryStore();
  for (const t of BUILTIN_TEMPLATES) await store.create(structuredClone(t));
  const runtime = new MemoryRuntime();
  return { store, runtime };
}

function sandbox(name: string, template = 'minimal-shell'): Sandbox {
  return {
    apiVersion: API_VERSION,
    kind: 'Sandbox',
    metadata: { name, namespace: 'default' },
    spec: { templateRef: { name: template } },
  };
}

/** A Logger that records every line with the bindings of its child loggers. */
function recordingLogger() {
  const lines: Array<Record<string, unknown> & { msg?: string }> = [];
  const make = (bindings: object): Logger => {
    const write = (obj: object, msg?: string) => lines.push({ ...bindings, ...obj, ...(msg ? { msg } : {}) });
    return {
      debug: write,
      info: write,
      warn: write,
      error: write,
      child: (b) => make({ ...bindings, ...b }),
    };
  };
  return { logger: make({}), lines };
}

let controller: Controller | undefined;
afterEach(async () => {
  await controller?.stop();
  controller = undefined;
});

describe('reconcile results', () => {
  it('asks for another pass (now or after N ms) while converging, and for nothing when the key is gone', async () => {
    const { store, runtime } = await setup();
    const reconcile = createSandboxReconciler({ store, runtime, clock, logger: silentLogger });
    await store.create(sandbox('a'));
    const get = () => store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'a' });
    const results = [];
    for (let i = 0; i < 20 && (await get())?.status?.phase !== 'Running'; i++) {
      results.push(await reconcile('default/a'));
    }
    expect((await get())?.status?.phase).toBe('Running');
    expect(results.length).toBeGreaterThan(1);
    // Converging: every pass asked to be run again; none was left to wait for an event.
    expect(results.filter((r) => r.requeue === 'whenChanged')).toEqual([]);
    expect(results).toContainEqual(requeueNow);
    // Settled and Running: the planner's periodic look, never a bare 0.
    expect((await reconcile('default/a')).requeue).toBe('after');
    expect(await reconcile('default/gone')).toEqual(requeueWhenChanged);
  });
});

describe('a throw anywhere in a pass', () => {
  it('is retried by the queue with backoff: a store read failing before the reconciler’s try still converges', async () => {
    const { store, runtime } = await setup();
    await store.create(sandbox('flaky'));
    // The first read of the sandbox fails, before the reconciler has anywhere to record the failure.
    store.failNext('get', new Error('database is locked'));
    const { logger, lines } = recordingLogger();
    // A resync far away: only the queue's retry can bring the key back.
    controller = createController({ store, runtime, logger, resyncIntervalMs: 3_600_000 });
    await controller.start();
    await eventually(
      async () =>
        (await store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'flaky' }))?.status?.phase ===
        'Running',
      'the sandbox to be Running after a failed read',
    );
    const thrown = lines.filter((l) => l.msg === 'reconcile threw; retrying with backoff');
    expect(thrown).toHaveLength(1);
    expect(thrown.every((l) => l.err === 'database is locked' && typeof l.reconcileId === 'string')).toBe(
      true,
    );
    // The queue's line about the retry names the same pass.
    const requeued = lines.filter((l) => l.msg === 'reconcile requeued after a throw');
    expect(requeued.map((l) => l.reconcileId)).toEqual(thrown.map((l) => l.reconcileId));
  });
});

describe('terminal errors', () => {
  it('put the sandbox in Error at the first attempt when raised where they are known (the runtime)', async () => {
    const { store, runtime } = await setup();
    runtime.failOn(
      'ensureWorkload',
      new TerminalError('UNPROCESSABLE', 'runtime class "gvisor" is not available'),
    );
    const reconcile = createSandboxReconciler({ store, runtime, clock, logger: silentLogger });
    await store.create(sandbox('t'));
    let r;
    for (let i = 0; i < 5 && r?.requeue !== 'whenChanged'; i++) r = await reconcile('default/t');
    expect(r).toEqual(requeueWhenChanged);
    const sb = await store.get<Sandbox>('Sandbox', { namespace: 'default', name: 't' });
    expect(sb?.status).toMatchObject({
      phase: 'Error',
      reason: 'ReconcileFailed',
      message: 'runtime class "gvisor" is not available',
      failureCount: 1,
    });
  });

  it('are not picked by code: the same code as a plain PlatformError is retried with backoff', async () => {
    const { store, runtime } = await setup();
    runtime.failOn('ensureWorkload', new PlatformError('UNPROCESSABLE', 'engine said 422 this time'));
    const reconcile = createSandboxReconciler({ store, runtime, clock, logger: silentLogger });
    await store.create(sandbox('p'));
    let r;
    for (let i = 0; i < 5 && r?.requeue !== 'after'; i++) r = await reconcile('default/p');
    expect(r).toEqual({ requeue: 'after', delayMs: 1000 });
    const sb = await store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'p' });
    expect(sb?.status?.phase).not.toBe('Error');
    expect(sb?.status?.failureCount).toBe(1);
  });

  it('come from template resolution for a template that does not exist', async () => {
    const { store, runtime } = await setup();
    const reconcile = createSandboxReconciler({ store, runtime, clock, logger: silentLogger });
    await store.create(sandbox('orphaned', 'no-such-template'));
    let r;
    for (let i = 0; i < 5 && r?.requeue !== 'whenChanged'; i++) r = await reconcile('default/orphaned');
    const sb = await store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'orphaned' });
    expect(sb?.status).toMatchObject({ phase: 'Error', failureCount: 1 });
    expect(sb?.status?.message).toMatch(/template "no-such-template" not found/);
  });
});

describe("the controller's own resource exhaustion", () => {
  it('never puts a sandbox in Error when the engine calls fail with EMFILE/ENFILE, and converges after', async () => {
    const { store, runtime } = await setup();
    // What Node's socket layer throws when the process has no descriptors left, wrapped as runtimes do.
    const emfile = Object.assign(new Error('connect EMFILE /run/agenttier/docker.sock'), {
      code: 'EMFILE',
      syscall: 'connect',
    });
    runtime.failOn('observe', new PlatformError('RUNTIME_FAILED', 'engine call failed', { cause: emfile }));
    const reconcile = createSandboxReconciler({ store, runtime, clock, logger: silentLogger });
    await store.create(sandbox('busy'));
    for (let i = 0; i < 3 * 5; i++) {
      // Far past the attempts after which a real failure gives up.
      expect(await reconcile('default/busy')).toEqual({ requeue: 'after', delayMs: 2000 });
    }
    let sb = await store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'busy' });
    expect(sb?.status?.phase).not.toBe('Error');
    expect(sb?.status?.failureCount ?? 0).toBe(0);
    expect(sb?.status?.message).toMatch(/controller is out of file descriptors \(EMFILE\)/);

    runtime.clearFailures();
    runtime.failOn('observe', Object.assign(new Error('spawn ENFILE'), { code: 'ENFILE' }));
    expect(await reconcile('default/busy')).toEqual({ requeue: 'after', delayMs: 2000 });
    runtime.clearFailures();
    for (let i = 0; i < 10 && sb?.status?.phase !== 'Running'; i++) {
      await reconcile('default/busy');
      sb = await store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'busy' });
    }
    expect(sb?.status?.phase).toBe('Running');
  });

  it('still gives up on a real engine failure (the classification is not a blanket retry)', async () => {
    const { store, runtime } = await setup();
    runtime.failOn('observe', new PlatformError('RUNTIME_FAILED', 'engine said no: ENOENT'));
    const reconcile = createSandboxReconciler({ store, runtime, clock, logger: silentLogger });
    await store.create(sandbox('broken'));
    let r;
    for (let i = 0; i < 20 && r?.requeue !== 'whenChanged'; i++) {
      r = await reconcile('default/broken');
      // Skip the backoff wait the status asks for: the test's clock does not move.
      const sb = await store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'broken' });
      if (sb?.status?.nextRetryAt)
        await store.updateStatus<Sandbox>({ ...sb, status: { ...sb.status, nextRetryAt: undefined } });
    }
    const sb = await store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'broken' });
    expect(sb?.status?.phase).toBe('Error');
  });
});

describe('logging', () => {
  it('names the pass on every line, and hands the id to onTransition', async () => {
    const { store, runtime } = await setup();
    runtime.failOn('ensureVolume', 'engine hiccup', { times: 1 });
    const { logger, lines } = recordingLogger();
    const transitions: string[] = [];
    const reconcile = createSandboxReconciler({
      store,
      runtime,
      clock,
      logger,
      onTransition: (_sb, _from, to, _msg, { reconcileId }) => transitions.push(`${to}@${reconcileId}`),
    });
    await store.create(sandbox('logged'));
    await reconcile('default/logged'); // fails: warn line
    await reconcile('default/logged'); // waits for its retry time: no lines
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((l) => typeof l.reconcileId !== 'string')).toEqual([]);
    expect(new Set(lines.map((l) => l.reconcileId)).size).toBe(1);
    expect(transitions.every((t) => /@r\d+$/.test(t))).toBe(true);
  });
});
