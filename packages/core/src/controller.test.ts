import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Resource, ResourceKind, Sandbox, SandboxSpec } from '@agenttier/contract';
import { API_VERSION, PlatformError, SANDBOX_FINALIZER } from '@agenttier/contract';
import type { Controller } from './controller.ts';
import { createController } from './controller.ts';
import { BUILTIN_TEMPLATES } from './builtin-templates.ts';
import { volumeName, workloadName } from './names.ts';
import { MAX_FAILURES, MAX_RESTARTS } from './plan.ts';
import type { Clock, ListOptions, ObjectKey, Store } from './ports.ts';
import { silentLogger } from './ports.ts';
import type { ReconcileResult } from './reconcile-result.ts';
import { requeueNow, requeueWhenChanged } from './reconcile-result.ts';
import { createSandboxReconciler } from './sandbox-reconciler.ts';
import { MemoryRuntime, MemoryStore, eventually } from '@agenttier/testkit';

/**
 * The controller and reconciler end to end against testkit's in-memory Store and Runtime (both pass
 * their port suites, runStoreContract and runRuntimeContract, as the SQLite, Docker and Kubernetes ones do).
 *
 * The controllers get the store through `yielding()`: every call first waits one macrotask, as a store
 * behind real I/O would. The in-memory store answers within microtasks, so a reconcile hot loop (a
 * reconcile whose own status write re-triggers it) would otherwise starve the event loop and the run
 * would hang instead of failing.
 */

const NS = 'default';

/** The delay a pass asked for: 0 for "now", undefined for "until something changes". */
function delayOf(r: ReconcileResult): number | undefined {
  return r.requeue === 'after' ? r.delayMs : r.requeue === 'now' ? 0 : undefined;
}
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

let store: MemoryStore;
let runtime: MemoryRuntime;
let controllers: Controller[];

/** Counts observe() calls: every pass over a live sandbox observes it once. */
class ObserveCountingRuntime extends MemoryRuntime {
  observed = 0;
  override observe(sandbox: Sandbox) {
    this.observed++;
    return super.observe(sandbox);
  }
}

/** A clock the test moves by hand (the controller's timers stay real). */
function manualClock(start = Date.parse('2026-03-01T12:00:00Z')): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, advance: (ms) => void (now += ms) };
}

function yielding(inner: Store): Store {
  const tick = () => new Promise<void>((r) => setImmediate(r));
  return {
    async get<T extends Resource>(kind: ResourceKind, key: ObjectKey) {
      await tick();
      return inner.get<T>(kind, key);
    },
    async list<T extends Resource>(kind: ResourceKind, opts?: ListOptions) {
      await tick();
      return inner.list<T>(kind, opts);
    },
    async create<T extends Resource>(obj: T) {
      await tick();
      return inner.create(obj);
    },
    async update<T extends Resource>(obj: T) {
      await tick();
      return inner.update(obj);
    },
    async updateStatus<T extends Resource>(obj: T) {
      await tick();
      return inner.updateStatus(obj);
    },
    async delete(kind: ResourceKind, key: ObjectKey) {
      await tick();
      return inner.delete(kind, key);
    },
    watch: (kind, handler) => inner.watch(kind, handler),
    close: () => inner.close(),
  };
}

function startController(opts: { runtime?: MemoryRuntime; clock?: Clock; transitions?: string[] } = {}) {
  const c = createController({
    store: yielding(store),
    runtime: opts.runtime ?? runtime,
    logger: silentLogger,
    resyncIntervalMs: 3_600_000,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.transitions
      ? { onTransition: (_sb, from, to) => opts.transitions!.push(`${from ?? ''}->${to}`) }
      : {}),
  });
  controllers.push(c);
  return c;
}

/** What the router's create does: the object with desiredState Running and a Creating status. */
async function createSandbox(name: string, spec: Partial<SandboxSpec> = {}): Promise<Sandbox> {
  return store.create<Sandbox>({
    apiVersion: API_VERSION,
    kind: 'Sandbox',
    metadata: { name, namespace: NS },
    spec: {
      templateRef: { name: 'minimal-shell', kind: 'ClusterSandboxTemplate' },
      desiredState: 'Running',
      ...spec,
    },
    status: { phase: 'Creating', reason: 'Pending', message: 'Waiting for the controller' },
  });
}

const get = (name: string) => store.get<Sandbox>('Sandbox', { namespace: NS, name });

async function waitFor(
  name: string,
  pred: (sb: Sandbox | undefined) => boolean,
  what: string,
  timeoutMs = 5000,
): Promise<Sandbox | undefined> {
  let last: Sandbox | undefined;
  const { sb } = await eventually(
    async () => {
      last = await get(name);
      return pred(last) && { sb: last };
    },
    `${name}: ${what}`,
    { timeoutMs, intervalMs: 5, lastSeen: () => JSON.stringify(last?.status) },
  );
  return sb;
}

const waitForPhase = async (name: string, phase: string) =>
  (await waitFor(name, (sb) => sb?.status?.phase === phase, `phase ${phase}`))!;

/** What the router's stop and resume do: flip desiredState and note the reason. */
async function setDesired(name: string, desiredState: 'Running' | 'Stopped') {
  const sb = (await get(name))!;
  const updated = await store.update<Sandbox>({ ...sb, spec: { ...sb.spec, desiredState } });
  await store.updateStatus<Sandbox>({
    ...updated,
    status:
      desiredState === 'Stopped'
        ? { ...updated.status, reason: 'Stopping', message: 'Stopping' }
        : {
            ...updated.status,
            phase: 'Creating',
            reason: 'Resuming',
            message: 'Resuming',
            failureCount: 0,
            restartCount: 0,
          },
  });
}

beforeEach(async () => {
  store = new MemoryStore();
  for (const t of BUILTIN_TEMPLATES) await store.create(structuredClone(t));
  runtime = new MemoryRuntime();
  controllers = [];
});

afterEach(async () => {
  vi.useRealTimers();
  // Frozen controllers never finish stopping; do not wait for them.
  await Promise.race([Promise.all(controllers.map((c) => c.stop())), new Promise((r) => setTimeout(r, 200))]);
  await store.close();
});

describe('controller with the SQLite store and the memory runtime', () => {
  it('creates: finalizer, volume, workload, then Running with an RFC 3339 startedAt and Ready=True', async () => {
    const transitions: string[] = [];
    await startController({ transitions }).start();
    const created = await createSandbox('demo');
    const sb = await waitForPhase('demo', 'Running');

    expect(sb.metadata.finalizers).toEqual([SANDBOX_FINALIZER]);
    expect(runtime.volume(sb)).toMatchObject({ name: volumeName(sb), sandboxUid: created.metadata.uid });
    expect(runtime.workload(sb)).toMatchObject({ name: workloadName(sb), state: 'running', ready: true });
    expect(runtime.workload(sb)?.effective).toMatchObject({
      templateName: 'minimal-shell',
      image: expect.any(String),
    });
    expect(sb.status).toMatchObject({
      phase: 'Running',
      reason: 'Ready',
      resolvedTemplate: 'minimal-shell',
      failureCount: 0,
      observedGeneration: sb.metadata.generation,
    });
    expect(sb.status?.startedAt).toMatch(RFC3339);
    expect(sb.status?.conditions).toEqual([
      {
        type: 'Ready',
        status: 'True',
        reason: 'Ready',
        message: '',
        lastTransitionTime: expect.stringMatching(RFC3339),
      },
    ]);
    expect(sb.status).not.toHaveProperty('nextRetryAt');
    expect(transitions).toContain('Creating->Running');
    expect(runtime.callsOf('ensureVolume', 'created')).toHaveLength(1);
    expect(runtime.callsOf('ensureWorkload', 'created')).toHaveLength(1);
  });

  it('keeps a Running sandbox Running with Ready=False while its daemon misses probes (no phase flicker)', async () => {
    const transitions: string[] = [];
    const c = startController({ transitions });
    await c.start();
    await createSandbox('blip');
    const sb = await waitForPhase('blip', 'Running');
    runtime.setReady(sb, false);
    c.enqueue(NS, 'blip');
    const unready = (await waitFor('blip', (x) => x?.status?.reason === 'NotReady', 'reason NotReady'))!;
    expect(unready.status?.phase).toBe('Running');
    expect(unready.status?.conditions?.[0]).toMatchObject({
      type: 'Ready',
      status: 'False',
      reason: 'NotReady',
    });
    runtime.setReady(sb, true);
    c.enqueue(NS, 'blip');
    const back = (await waitFor('blip', (x) => x?.status?.reason === 'Ready', 'reason Ready again'))!;
    expect(back.status?.conditions?.[0]).toMatchObject({ type: 'Ready', status: 'True' });
    expect(back.status?.startedAt).toBe(sb.status?.startedAt);
    expect(transitions).toEqual(['Creating->Running']);
  });

  it('waits in Creating until the workload is ready', async () => {
    const counting = new ObserveCountingRuntime({ readyOnStart: false });
    runtime = counting;
    const c = startController();
    await c.start();
    await createSandbox('slow');
    await waitFor(
      'slow',
      () => runtime.workload(workloadName({ metadata: { name: 'slow', namespace: NS } })) !== undefined,
      'workload',
    );
    // Three more passes see the workload running but not ready (the Creating poll, no store event).
    const seen = counting.observed;
    await eventually(() => counting.observed >= seen + 3, 'three Creating polls');
    await c.idle();
    expect((await get('slow'))?.status?.phase).toBe('Creating');
    runtime.setReady(workloadName({ metadata: { name: 'slow', namespace: NS } }));
    await waitForPhase('slow', 'Running'); // the Creating poll picks it up without any store event
  });

  it('stops (volume kept, workload gone), then resumes into the same volume', async () => {
    await startController().start();
    await createSandbox('sb');
    const running = await waitForPhase('sb', 'Running');

    await setDesired('sb', 'Stopped');
    const stopped = await waitForPhase('sb', 'Stopped');
    expect(runtime.workload(stopped)).toBeUndefined();
    expect(runtime.volume(stopped)).toBeDefined();
    expect(stopped.status).toMatchObject({ reason: 'Stopped', message: expect.stringMatching(/resume/) });
    expect(stopped.status?.stoppedAt).toMatch(RFC3339);
    expect(stopped.status).not.toHaveProperty('startedAt');
    expect(stopped.status?.conditions?.[0]).toMatchObject({ type: 'Ready', status: 'False' });

    await setDesired('sb', 'Running');
    const resumed = await waitForPhase('sb', 'Running');
    expect(resumed.metadata.uid).toBe(running.metadata.uid);
    expect(runtime.callsOf('ensureVolume', 'created')).toHaveLength(1); // the workspace survived
    expect(runtime.callsOf('ensureWorkload', 'created')).toHaveLength(2);
    expect(runtime.workload(resumed)).toMatchObject({ state: 'running', ready: true });
  });

  it('deletes: children removed first, then the object is gone', async () => {
    await startController().start();
    await createSandbox('doomed');
    const sb = await waitForPhase('doomed', 'Running');

    const childrenWhenGone: string[][] = [];
    const unwatch = store.watch('Sandbox', (e) => {
      if (e.type === 'DELETED') childrenWhenGone.push(runtime.children().map((c) => c.name));
    });
    await store.delete('Sandbox', { namespace: NS, name: 'doomed' });
    expect((await get('doomed'))?.metadata.deletionTimestamp).toBeDefined(); // held by the finalizer
    await waitFor('doomed', (x) => x === undefined, 'deletion');
    unwatch();

    expect(childrenWhenGone).toEqual([[]]);
    expect(runtime.workload(sb)).toBeUndefined();
    expect(runtime.volume(sb)).toBeUndefined();
    expect(runtime.callsOf('removeWorkload', 'deleted')).toHaveLength(1);
    expect(runtime.callsOf('removeVolume', 'deleted')).toHaveLength(1);
  });

  it('deletes a stopped sandbox and a sandbox whose template is gone', async () => {
    await startController().start();
    await createSandbox('a');
    await createSandbox('b', { templateRef: { name: 'gone', kind: 'ClusterSandboxTemplate' } });
    await waitForPhase('a', 'Running');
    await waitForPhase('b', 'Error');
    await setDesired('a', 'Stopped');
    await waitForPhase('a', 'Stopped');
    await store.delete('Sandbox', { namespace: NS, name: 'a' });
    await store.delete('Sandbox', { namespace: NS, name: 'b' });
    await waitFor('a', (x) => x === undefined, 'deletion of a');
    await waitFor('b', (x) => x === undefined, 'deletion of b');
    expect(runtime.children()).toEqual([]);
  });

  it('finishes a create after the controller died between ensureVolume and ensureWorkload', async () => {
    const dying = new MemoryRuntime();
    dying.freezeAfter('ensureVolume');
    const first = startController({ runtime: dying });
    await first.start();
    await createSandbox('halfmade');
    await vi.waitFor(() => expect(dying.frozen).toBe(true));
    void first.stop(); // the process is gone: its watch ends, its stuck reconcile never returns

    const half = (await get('halfmade'))!;
    expect(half.status?.phase).toBe('Creating');
    expect(dying.volume(half)).toBeDefined();
    expect(dying.workload(half)).toBeUndefined();

    const next = dying.restarted(); // a new process on the same engine
    await startController({ runtime: next }).start();
    const sb = await waitForPhase('halfmade', 'Running');
    expect(next.workload(sb)).toMatchObject({ state: 'running' });
    // Idempotent: the volume was made once, not duplicated or replaced.
    expect(next.callsOf('ensureVolume', 'created')).toHaveLength(1);
    expect(next.volume(sb)?.generation).toBe(1);
  });

  it('collects orphans (children whose sandbox uid is not in the store) and keeps the rest', async () => {
    const c = startController();
    await c.start();
    await createSandbox('live');
    const live = await waitForPhase('live', 'Running');
    runtime.addChild('workload', {
      name: 'agenttier-default-ghost',
      sandboxUid: 'no-such-uid',
      sandboxName: 'ghost',
    });
    runtime.addChild('volume', {
      name: 'agenttier-default-ghost-workspace',
      sandboxUid: 'no-such-uid',
      sandboxName: 'ghost',
    });
    // A child under a live sandbox's name but left by an earlier sandbox of that name is an orphan too.
    runtime.addChild('volume', {
      name: 'agenttier-default-old-workspace',
      sandboxUid: 'uid-of-a-deleted-sandbox',
    });

    expect(await c.collectOrphans()).toBe(3);
    expect(
      runtime
        .children()
        .map((x) => x.name)
        .sort(),
    ).toEqual([volumeName(live), workloadName(live)].sort());
    expect(await c.collectOrphans()).toBe(0);
  });

  it('collects orphans on start, after a crash left them behind', async () => {
    runtime.addChild('workload', { name: 'agenttier-default-ghost', sandboxUid: 'dead' });
    runtime.addChild('volume', { name: 'agenttier-default-ghost-workspace', sandboxUid: 'dead' });
    await startController().start();
    expect(runtime.children()).toEqual([]);
    expect(runtime.callsOf('removeOwned')).toHaveLength(2);
  });

  it('replaces a leftover container of an earlier sandbox with the same name', async () => {
    runtime.addChild('workload', { name: 'agenttier-default-reuse', sandboxUid: 'old-uid' });
    const c = startController();
    await c.start(); // collects it as an orphan
    runtime.addChild('workload', { name: 'agenttier-default-reuse', sandboxUid: 'old-uid' }); // appears again
    await createSandbox('reuse');
    const sb = await waitForPhase('reuse', 'Running');
    expect(runtime.workload(sb)?.sandboxUid).toBe(sb.metadata.uid);
  });

  it('restarts a workload that crashed under a Running sandbox and counts it', async () => {
    const c = startController();
    await c.start();
    await createSandbox('crashy');
    const sb = await waitForPhase('crashy', 'Running');
    runtime.crash(sb, 137);
    c.enqueue(NS, 'crashy'); // the engine's die event
    const healed = (await waitFor(
      'crashy',
      (x) => x?.status?.phase === 'Running' && x.status.restartCount === 1,
      'a counted restart',
    ))!;
    expect(runtime.workload(healed)).toMatchObject({ state: 'running', generation: 2 });
    expect(runtime.callsOf('ensureVolume', 'created')).toHaveLength(1);
  });

  it(`goes to Error/RestartLimitExceeded after ${MAX_RESTARTS} restarts and stays there until resumed`, async () => {
    const c = startController();
    await c.start();
    await createSandbox('flaky');
    let sb = await waitForPhase('flaky', 'Running');
    for (let i = 1; i <= MAX_RESTARTS; i++) {
      runtime.crash(sb, 1);
      c.enqueue(NS, 'flaky');
      sb = (await waitFor(
        'flaky',
        (x) => x?.status?.phase === 'Running' && x.status.restartCount === i,
        `restart ${i}`,
      ))!;
    }
    runtime.crash(sb, 1);
    c.enqueue(NS, 'flaky');
    const failed = await waitForPhase('flaky', 'Error');
    expect(failed.status).toMatchObject({
      reason: 'RestartLimitExceeded',
      message: expect.stringMatching(/exit code 1/),
    });
    const callsBefore = runtime.callsOf('ensureWorkload').length;
    c.enqueue(NS, 'flaky');
    await c.idle(); // the pass the enqueue started has run
    expect(runtime.callsOf('ensureWorkload')).toHaveLength(callsBefore); // terminal: no more attempts

    await setDesired('flaky', 'Running'); // resume resets the counters
    const back = await waitForPhase('flaky', 'Running');
    expect(back.status?.restartCount).toBe(0);
  });

  it('stops a sandbox at its max runtime with reason MaxRuntimeExceeded', async () => {
    const clock = manualClock();
    const c = startController({ clock });
    await c.start();
    await createSandbox('timed', { timeout: '1h' });
    await waitForPhase('timed', 'Running');
    clock.advance(3_600_000);
    c.enqueue(NS, 'timed');
    const stopped = await waitForPhase('timed', 'Stopped');
    expect(stopped.spec.desiredState).toBe('Stopped');
    expect(stopped.status).toMatchObject({ reason: 'MaxRuntimeExceeded', message: 'Max runtime exceeded' });
    expect(runtime.workload(stopped)).toBeUndefined();
    expect(runtime.volume(stopped)).toBeDefined();
  });

  it('stops an idle sandbox with reason IdleTimeout', async () => {
    const clock = manualClock();
    const c = startController({ clock });
    await c.start();
    await createSandbox('idle', { idleTimeout: '30m' });
    await waitForPhase('idle', 'Running');
    clock.advance(30 * 60_000);
    c.enqueue(NS, 'idle');
    const stopped = await waitForPhase('idle', 'Stopped');
    expect(stopped.status).toMatchObject({ reason: 'IdleTimeout', message: 'Idle timeout exceeded' });
  });

  it('puts a sandbox whose template is missing into Error at once, without retrying', async () => {
    await startController().start();
    await createSandbox('orphaned', { templateRef: { name: 'nope', kind: 'ClusterSandboxTemplate' } });
    const sb = await waitForPhase('orphaned', 'Error');
    expect(sb.status).toMatchObject({
      reason: 'ReconcileFailed',
      failureCount: 1,
      message: expect.stringMatching(/"nope" not found/),
    });
    expect(runtime.children()).toEqual([]);
  });
});

describe('reconciler failure handling (driven step by step)', () => {
  it(`retries a failing runtime with 1 s, 2 s, 4 s, 8 s backoff, then ends in Error after ${MAX_FAILURES} attempts`, async () => {
    const clock = manualClock();
    const reconcile = createSandboxReconciler({ store, runtime, clock, logger: silentLogger });
    runtime.failOn('ensureWorkload', 'could not start the container: image missing');
    await createSandbox('broken');

    const delays: Array<number | undefined> = [];
    for (let i = 1; i <= MAX_FAILURES; i++) {
      const r = await reconcile(`${NS}/broken`);
      delays.push(delayOf(r));
      const sb = (await get('broken'))!;
      expect(sb.status?.failureCount).toBe(i);
      if (i < MAX_FAILURES) {
        expect(sb.status?.message).toBe(
          'Retrying after an error: could not start the container: image missing',
        );
        expect(Date.parse(sb.status!.nextRetryAt!)).toBe(clock.now() + delayOf(r)!);
      }
      clock.advance(delayOf(r) ?? 0);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, undefined]);

    const sb = (await get('broken'))!;
    expect(sb.status).toMatchObject({
      phase: 'Error',
      reason: 'ReconcileFailed',
      message: `could not start the container: image missing (gave up after ${MAX_FAILURES} attempts; resume to retry)`,
    });
    expect(sb.status).not.toHaveProperty('nextRetryAt');
    expect(sb.status?.conditions?.[0]).toMatchObject({
      type: 'Ready',
      status: 'False',
      reason: 'ReconcileFailed',
    });

    // Terminal: another pass does nothing, even though the runtime works again.
    runtime.clearFailures();
    expect(await reconcile(`${NS}/broken`)).toEqual(requeueWhenChanged);
    expect((await get('broken'))?.status?.phase).toBe('Error');
  });

  it('resets the failure count after a success', async () => {
    const clock = manualClock();
    const reconcile = createSandboxReconciler({ store, runtime, clock, logger: silentLogger });
    runtime.failOn('ensureVolume', 'engine hiccup', { times: 2 });
    await createSandbox('recovers');
    expect(delayOf(await reconcile(`${NS}/recovers`))).toBe(1000);
    clock.advance(1000);
    expect(delayOf(await reconcile(`${NS}/recovers`))).toBe(2000);
    expect((await get('recovers'))?.status?.failureCount).toBe(2);
    // Early calls (a resync) wait for the retry time instead of counting another failure.
    expect(delayOf(await reconcile(`${NS}/recovers`))).toBe(2000);
    expect((await get('recovers'))?.status?.failureCount).toBe(2);
    clock.advance(2000);
    await reconcile(`${NS}/recovers`);
    const sb = (await get('recovers'))!;
    expect(sb.status?.failureCount).toBe(0);
    expect(sb.status).not.toHaveProperty('nextRetryAt');
    expect(sb.status?.message).not.toMatch(/Retrying/);
  });

  it('re-reads on a write conflict instead of counting a failure', async () => {
    const reconcile = createSandboxReconciler({ store, runtime, clock: manualClock(), logger: silentLogger });
    await createSandbox('racy');
    const realUpdate = store.update.bind(store);
    let once = true;
    store.update = async (obj) => {
      if (once) {
        once = false;
        throw new PlatformError('CONFLICT', 'stale');
      }
      return realUpdate(obj);
    };
    expect(await reconcile(`${NS}/racy`)).toEqual(requeueNow);
    expect((await get('racy'))?.status?.failureCount).toBeUndefined();
  });

  it('never mounts a volume that belongs to someone else, and backs off instead of spinning', async () => {
    // A volume under the sandbox's deterministic name but labelled with another sandbox uid: a
    // leftover not yet collected, or another install's sandbox of the same name on a shared engine.
    const reconcile = createSandboxReconciler({ store, runtime, clock: manualClock(), logger: silentLogger });
    const sb = await createSandbox('squatted');
    runtime.addChild('volume', { name: volumeName(sb), sandboxUid: 'someone-else' });
    const clock = manualClock();
    const stepwise = createSandboxReconciler({ store, runtime, clock, logger: silentLogger });
    const results = [await reconcile(`${NS}/squatted`)];
    // Blocked, not broken: past MAX_FAILURES it keeps waiting (capped backoff) instead of going to Error.
    for (let i = 0; i < MAX_FAILURES + 2; i++) {
      clock.advance(60_000);
      results.push(await stepwise(`${NS}/squatted`));
    }
    expect(runtime.workload(sb)).toBeUndefined(); // its workspace would be someone else's files
    expect(runtime.volume(sb)?.sandboxUid).toBe('someone-else');
    for (const r of results) expect(r.requeue).toBe('after');
    const status = (await get('squatted'))!.status!;
    expect(status.phase).not.toBe('Error');
    expect(status.message).toMatch(/belongs to another sandbox/);
  });

  it('does not mark a spec change that landed during a failing attempt as seen', async () => {
    const clock = manualClock();
    const reconcile = createSandboxReconciler({ store, runtime, clock, logger: silentLogger });
    const sb = await createSandbox('patched');
    runtime.failOn('ensureVolume', 'engine hiccup', {
      // The user's PATCH lands while the runtime call is in flight.
      before: async () => {
        const cur = (await get('patched'))!;
        await store.update<Sandbox>({ ...cur, spec: { ...cur.spec, timeout: '2h' } });
      },
    });
    await reconcile(`${NS}/patched`);
    const after = (await get('patched'))!;
    expect(after.metadata.generation).toBeGreaterThan(sb.metadata.generation ?? 1);
    expect(after.status?.observedGeneration).toBe(sb.metadata.generation ?? 1);
  });

  it('ignores a key whose sandbox is gone', async () => {
    const reconcile = createSandboxReconciler({ store, runtime, clock: manualClock(), logger: silentLogger });
    expect(await reconcile(`${NS}/never-existed`)).toEqual(requeueWhenChanged);
    expect(runtime.calls).toEqual([]);
  });
});

describe('controller backoff', () => {
  it('does not retry a failing runtime faster than the backoff (its own status writes must not re-trigger it)', async () => {
    runtime.failOn('ensureWorkload', 'could not start the container: image missing');
    // The controller's clock stands still, so the first retry (due 1 s after the failure) never comes
    // due: any second attempt seen here, however long this waits on a loaded machine, came too early.
    const c = startController({ clock: manualClock() });
    await c.start();
    await createSandbox('hot');
    await waitFor('hot', (sb) => sb?.status?.failureCount === 1, 'the failure recorded');
    // The failure's status write reached the controller's watch handler, which defers by one
    // setImmediate: one more turn, and any pass that write set off is queued; idle() waits for it.
    await new Promise((r) => setImmediate(r));
    await c.idle();
    expect(runtime.callsOf('ensureWorkload')).toHaveLength(1);
    expect((await get('hot'))?.status?.phase).not.toBe('Error');
  });
});
