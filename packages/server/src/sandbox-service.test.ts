import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Resource, Sandbox } from '@agenttier/contract';
import { PlatformError, isPlatformError } from '@agenttier/contract';
import type { Store } from '@agenttier/core';
import type { SqliteStore } from '@agenttier/platform-local';
import { DEV_IDENTITY } from './context.ts';
import { createSandboxService, requireRunning } from './sandbox-service.ts';
import { seededStore } from './testing/seeded-store.ts';

let sqlite: SqliteStore;

beforeEach(async () => {
  sqlite = await seededStore();
});

afterEach(async () => {
  await sqlite.close();
});

const get = (name: string) => sqlite.get<Sandbox>('Sandbox', { namespace: 'default', name });

/**
 * The store, except that right before the first `updateStatus` someone else (the controller) writes
 * the object's status: the classic race between a router write and a reconcile.
 */
function racingStore(inner: Store): Store & { raced: boolean } {
  const s = Object.create(inner) as Store & { raced: boolean };
  s.raced = false;
  s.updateStatus = async <T extends Resource>(obj: T): Promise<T> => {
    if (!s.raced) {
      s.raced = true;
      const current = (await inner.get<Sandbox>('Sandbox', {
        namespace: obj.metadata.namespace,
        name: obj.metadata.name,
      }))!;
      await inner.updateStatus<Sandbox>({
        ...current,
        status: { ...current.status, message: 'controller was here' },
      });
    }
    return inner.updateStatus(obj);
  };
  s.get = inner.get.bind(inner);
  s.update = inner.update.bind(inner);
  s.list = inner.list.bind(inner);
  return s;
}

async function createRunning(svc: ReturnType<typeof createSandboxService>, name: string) {
  await svc.create({ name, template: 'minimal-shell' }, DEV_IDENTITY);
  const sb = (await get(name))!;
  return sqlite.updateStatus<Sandbox>({ ...sb, status: { ...sb.status, phase: 'Running', reason: 'Ready' } });
}

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return isPlatformError(err) ? err.code : String(err);
  }
}

describe('sandbox service', () => {
  it("refuses a create whose engine children would take another sandbox's name (namespace a + b-c vs a-b + c)", async () => {
    const svc = createSandboxService({
      store: sqlite,
      childNameOf: (ns, name) => `agenttier-${ns}-${name}`,
    });
    await svc.create({ name: 'b-c', namespace: 'a', template: 'minimal-shell' }, DEV_IDENTITY);
    const err = await svc
      .create({ name: 'c', namespace: 'a-b', template: 'minimal-shell' }, DEV_IDENTITY)
      .catch((e: unknown) => e);
    expect(isPlatformError(err) && err.code).toBe('ALREADY_EXISTS');
    expect((err as Error).message).toContain('agenttier-a-b-c');
    expect(await sqlite.get<Sandbox>('Sandbox', { namespace: 'a-b', name: 'c' })).toBeUndefined();
    // Names that do not collide are untouched by the check.
    await svc.create({ name: 'c', namespace: 'a-x', template: 'minimal-shell' }, DEV_IDENTITY);
    // A platform whose names are unique per namespace (no childNameOf) accepts both.
    const k8s = createSandboxService({ store: sqlite });
    await k8s.create({ name: 'c', namespace: 'a-b', template: 'minimal-shell' }, DEV_IDENTITY);
  });

  it('create records who created it, the resolved template and a Creating status; it nudges the controller', async () => {
    const nudged: string[] = [];
    const svc = createSandboxService({ store: sqlite, enqueue: (ns, n) => nudged.push(`${ns}/${n}`) });
    const sb = await svc.create(
      { name: 'a', templateRef: { name: 'general-coding' }, env: [{ name: 'X', value: '1' }] },
      DEV_IDENTITY,
    );
    expect(sb.spec).toMatchObject({
      templateRef: { name: 'general-coding', kind: 'ClusterSandboxTemplate' },
      desiredState: 'Running',
      mode: 'code',
      env: [{ name: 'X', value: '1' }],
      createdBy: { sub: 'dev-user', email: 'dev@agenttier.local', displayName: 'Dev User' },
    });
    expect(sb.status).toMatchObject({
      phase: 'Creating',
      reason: 'Pending',
      resolvedTemplate: 'general-coding',
    });
    expect(nudged).toEqual(['default/a']);
  });

  it('stop succeeds even when the controller writes the status between its two writes', async () => {
    const store = racingStore(sqlite);
    const svc = createSandboxService({ store });
    await createRunning(createSandboxService({ store: sqlite }), 'sb');
    // A conflict on the status write must not turn an applied stop into 409 "already stopping".
    expect(await code(svc.stop('default', 'sb'))).toBeUndefined();
    expect(store.raced).toBe(true);
    const sb = await get('sb');
    expect(sb?.spec.desiredState).toBe('Stopped');
    expect(sb?.status?.reason).toBe('Stopping');
  });

  it('resume succeeds even when the controller writes the status between its two writes', async () => {
    const plain = createSandboxService({ store: sqlite });
    await createRunning(plain, 'sb');
    await plain.stop('default', 'sb');
    const stopped = (await get('sb'))!;
    await sqlite.updateStatus<Sandbox>({ ...stopped, status: { ...stopped.status, phase: 'Stopped' } });
    const store = racingStore(sqlite);
    const svc = createSandboxService({ store });
    expect(await code(svc.resume('default', 'sb'))).toBeUndefined();
    const sb = await get('sb');
    expect(sb?.spec.desiredState).toBe('Running');
    expect(sb?.status).toMatchObject({ phase: 'Creating', reason: 'Resuming' });
  });

  it('resume from Error starts a fresh run: counters reset and no old startedAt to trip the max runtime', async () => {
    const svc = createSandboxService({ store: sqlite });
    const running = await createRunning(svc, 'sb');
    await sqlite.updateStatus<Sandbox>({
      ...running,
      status: {
        ...running.status,
        phase: 'Error',
        reason: 'ReconcileFailed',
        startedAt: '2026-01-01T00:00:00Z',
        failureCount: 5,
      },
    });
    await svc.resume('default', 'sb');
    const sb = await get('sb');
    expect(sb?.status).toMatchObject({
      phase: 'Creating',
      reason: 'Resuming',
      failureCount: 0,
      restartCount: 0,
    });
    expect(sb?.status).not.toHaveProperty('startedAt');
  });

  it('stop retries a conflicting spec write and gives up with the conflict after a few attempts', async () => {
    await createRunning(createSandboxService({ store: sqlite }), 'sb');
    let attempts = 0;
    const store = Object.create(sqlite) as Store;
    store.get = sqlite.get.bind(sqlite);
    store.update = async () => {
      attempts++;
      throw new PlatformError('CONFLICT', 'stale');
    };
    const svc = createSandboxService({ store });
    expect(await code(svc.stop('default', 'sb'))).toBe('CONFLICT');
    expect(attempts).toBe(6);
  });

  it('touch records activity without losing a status written since the sandbox was read', async () => {
    const svc = createSandboxService({ store: sqlite });
    const stale = await createRunning(svc, 'sb');
    // The controller stops it meanwhile.
    await sqlite.updateStatus<Sandbox>({
      ...stale,
      status: { ...stale.status, phase: 'Stopped', reason: 'Stopped' },
    });
    await svc.touch(stale, Date.parse('2026-03-01T12:00:00Z'));
    const sb = await get('sb');
    expect(sb?.status).toMatchObject({ phase: 'Stopped', lastActivityTimestamp: '2026-03-01T12:00:00Z' });
  });

  it('touch writes at most once per interval', async () => {
    const svc = createSandboxService({ store: sqlite });
    const sb = await createRunning(svc, 'sb');
    const t0 = Date.parse('2026-03-01T12:00:00Z');
    await svc.touch(sb, t0);
    const rv = (await get('sb'))?.metadata.resourceVersion;
    await svc.touch(sb, t0 + 5_000);
    expect((await get('sb'))?.metadata.resourceVersion).toBe(rv);
    await svc.touch(sb, t0 + 15_000);
    expect((await get('sb'))?.status?.lastActivityTimestamp).toBe('2026-03-01T12:00:15Z');
  });

  it('requireRunning accepts only Running with desiredState Running', () => {
    const sb = (phase: string, extra: Partial<Sandbox['spec']> = {}, deleting = false): Sandbox =>
      ({
        apiVersion: 'agenttier.io/v1alpha1',
        kind: 'Sandbox',
        metadata: { name: 'x', ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
        spec: { templateRef: { name: 't' }, ...extra },
        status: { phase },
      }) as Sandbox;
    expect(() => requireRunning(sb('Running'))).not.toThrow();
    for (const bad of [
      sb('Creating'),
      sb('Stopped'),
      sb('Error'),
      sb('Running', { desiredState: 'Stopped' }),
      sb('Running', {}, true),
    ]) {
      let thrown: unknown;
      try {
        requireRunning(bad);
      } catch (err) {
        thrown = err;
      }
      expect(isPlatformError(thrown) && thrown.code).toBe('SANDBOX_NOT_RUNNING');
    }
  });
});
