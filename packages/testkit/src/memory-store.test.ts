import { describe, expect, it } from 'vitest';
import { API_VERSION } from '@agenttier/contract';
import { MemoryStore } from './memory-store.ts';
import { runStoreContract } from './store-contract.ts';

runStoreContract('memory', async () => {
  const store = new MemoryStore();
  return { store, cleanup: () => store.close() };
});

describe('MemoryStore.failNext', () => {
  it('fails the named operation the given number of times, then works again', async () => {
    const store = new MemoryStore();
    const boom = new Error('database is locked');
    store.failNext('get', boom, 2);
    const key = { namespace: 'default', name: 'x' };
    await expect(store.get('Sandbox', key)).rejects.toBe(boom);
    await expect(store.get('Sandbox', key)).rejects.toBe(boom);
    await store.create({
      apiVersion: API_VERSION,
      kind: 'Sandbox',
      metadata: key,
      spec: { templateRef: { name: 'minimal-shell' } },
    });
    expect((await store.get('Sandbox', key))?.metadata.name).toBe('x');
  });
});
