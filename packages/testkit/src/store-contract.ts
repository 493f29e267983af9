import { describe, expect, it } from 'vitest';
import type { Sandbox, SandboxTemplate } from '@agenttier/contract';
import { API_VERSION, SANDBOX_FINALIZER, isPlatformError } from '@agenttier/contract';
import type { Store, WatchEvent } from '@agenttier/core';
import { eventually } from './eventually.ts';

function sandbox(name: string, extra: Partial<Sandbox['metadata']> = {}): Sandbox {
  return {
    apiVersion: API_VERSION,
    kind: 'Sandbox',
    metadata: { name, namespace: 'default', ...extra },
    spec: { templateRef: { name: 'minimal-shell' } },
  };
}

async function expectCode(p: Promise<unknown>, code: string) {
  try {
    await p;
  } catch (err) {
    expect(isPlatformError(err) ? err.code : err).toBe(code);
    return;
  }
  throw new Error(`expected ${code}, got success`);
}

/**
 * The behaviour every Store must have (SQLite locally, the API server on Kubernetes). Run it from the
 * implementation's own test file: `runStoreContract('sqlite', async () => new SqliteStore(...))`.
 */
export function runStoreContract(
  name: string,
  newStore: () => Promise<{ store: Store; cleanup: () => Promise<void> }>,
) {
  describe(`Store contract: ${name}`, () => {
    const withStore = async (fn: (store: Store) => Promise<void>) => {
      const { store, cleanup } = await newStore();
      try {
        await fn(store);
      } finally {
        await cleanup();
      }
    };

    it('creates with system metadata and rejects a duplicate name with ALREADY_EXISTS', () =>
      withStore(async (store) => {
        const created = await store.create(sandbox('a'));
        expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
        expect(created.metadata.resourceVersion).toBeTruthy();
        expect(created.metadata.generation).toBe(1);
        expect(created.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        await expectCode(store.create(sandbox('a')), 'ALREADY_EXISTS');
      }));

    it('rejects a stale resourceVersion with CONFLICT and bumps generation only on spec changes', () =>
      withStore(async (store) => {
        const created = await store.create(sandbox('b'));
        const labelled = await store.update<Sandbox>({
          ...created,
          metadata: { ...created.metadata, labels: { x: '1' } },
        });
        expect(labelled.metadata.generation).toBe(1);
        expect(Number(labelled.metadata.resourceVersion)).toBeGreaterThan(
          Number(created.metadata.resourceVersion),
        );
        await expectCode(store.update({ ...created, spec: { ...created.spec, timeout: '1h' } }), 'CONFLICT');
        const respec = await store.update<Sandbox>({
          ...labelled,
          spec: { ...labelled.spec, timeout: '1h' },
        });
        expect(respec.metadata.generation).toBe(2);
      }));

    it('keeps spec and status writes apart', () =>
      withStore(async (store) => {
        const created = await store.create(sandbox('c'));
        const withStatus = await store.updateStatus<Sandbox>({ ...created, status: { phase: 'Running' } });
        const specWrite = await store.update<Sandbox>({
          ...withStatus,
          status: { phase: 'Error' },
          spec: { ...withStatus.spec, timeout: '2h' },
        });
        expect(specWrite.status?.phase).toBe('Running');
        const statusWrite = await store.updateStatus<Sandbox>({
          ...specWrite,
          spec: { ...specWrite.spec, timeout: '9h' },
          status: { phase: 'Stopped' },
        });
        expect(statusWrite.spec.timeout).toBe('2h');
        expect(statusWrite.status?.phase).toBe('Stopped');
      }));

    it('deletes through finalizers: deletionTimestamp first, gone when the last finalizer is removed', () =>
      withStore(async (store) => {
        const created = await store.create(sandbox('d', { finalizers: [SANDBOX_FINALIZER] }));
        await store.delete('Sandbox', { namespace: 'default', name: 'd' });
        const marked = await store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'd' });
        expect(marked?.metadata.deletionTimestamp).toBeTruthy();
        await store.delete('Sandbox', { namespace: 'default', name: 'd' }); // idempotent while deleting
        await store.update({ ...marked!, metadata: { ...marked!.metadata, finalizers: [] } });
        expect(await store.get('Sandbox', { namespace: 'default', name: 'd' })).toBeUndefined();
        await expectCode(store.delete('Sandbox', { namespace: 'default', name: 'd' }), 'NOT_FOUND');
        void created;
      }));

    it('lists by namespace and labels, and scopes cluster kinds without a namespace', () =>
      withStore(async (store) => {
        await store.create(sandbox('e1', { labels: { team: 'x' } }));
        await store.create({ ...sandbox('e2'), metadata: { name: 'e2', namespace: 'other' } });
        const t: SandboxTemplate = {
          apiVersion: API_VERSION,
          kind: 'ClusterSandboxTemplate',
          metadata: { name: 't1' },
          spec: {},
        };
        const ct = await store.create(t);
        expect(ct.metadata.namespace).toBeUndefined();
        expect((await store.list('Sandbox', { namespace: 'default' })).map((s) => s.metadata.name)).toEqual([
          'e1',
        ]);
        expect((await store.list('Sandbox', { labels: { team: 'x' } })).map((s) => s.metadata.name)).toEqual([
          'e1',
        ]);
        expect(await store.list('Sandbox')).toHaveLength(2);
        expect(await store.get('ClusterSandboxTemplate', { name: 't1' })).toBeTruthy();
      }));

    it('watch delivers ADDED, MODIFIED and DELETED in order', () =>
      withStore(async (store) => {
        const events: WatchEvent[] = [];
        const stop = store.watch('Sandbox', (e) => events.push(e));
        const created = await store.create(sandbox('f'));
        await store.updateStatus<Sandbox>({ ...created, status: { phase: 'Running' } });
        await store.delete('Sandbox', { namespace: 'default', name: 'f' });
        // A store behind a network (Kubernetes) delivers its events later than its writes return.
        await eventually(() => events.some((e) => e.type === 'DELETED'), 'the DELETED event of f');
        stop();
        await store.create(sandbox('g'));
        expect(events.map((e) => `${e.type}:${e.object.metadata.name}`)).toEqual([
          'ADDED:f',
          'MODIFIED:f',
          'DELETED:f',
        ]);
      }));
  });
}
