import { describe, expect, it } from 'vitest';
import type { Sandbox } from '@agenttier/contract';
import { API_VERSION, isPlatformError } from '@agenttier/contract';
import { mergeSandboxWithTemplate, volumeName, workloadName } from '@agenttier/core';
import { MemoryRuntime } from './memory-runtime.ts';
import { runRuntimeContract } from './runtime-contract.ts';

function sandbox(name = 'sb', uid = `uid-${name}`): Sandbox {
  return {
    apiVersion: API_VERSION,
    kind: 'Sandbox',
    metadata: { name, namespace: 'default', uid },
    spec: { templateRef: { name: 'minimal-shell' } },
  };
}
const eff = (sb: Sandbox) => mergeSandboxWithTemplate(sb, {}, 'minimal-shell');

describe('MemoryRuntime (the Runtime port contract)', () => {
  it('observes nothing for a new sandbox', async () => {
    expect(await new MemoryRuntime().observe(sandbox())).toEqual({});
  });

  it('ensureVolume and ensureWorkload are idempotent and use the deterministic names', async () => {
    const rt = new MemoryRuntime();
    const sb = sandbox();
    expect(await rt.ensureVolume(sb, eff(sb))).toBe('created');
    expect(await rt.ensureVolume(sb, eff(sb))).toBe('unchanged');
    expect(await rt.ensureWorkload(sb, eff(sb))).toBe('created');
    expect(await rt.ensureWorkload(sb, eff(sb))).toBe('unchanged');
    expect(await rt.observe(sb)).toEqual({
      workload: { name: workloadName(sb), state: 'running', ready: true, sandboxUid: 'uid-sb' },
      volume: { name: volumeName(sb), sandboxUid: sb.metadata.uid },
    });
  });

  it('removeWorkload and removeVolume are idempotent', async () => {
    const rt = new MemoryRuntime();
    const sb = sandbox();
    await rt.ensureVolume(sb, eff(sb));
    await rt.ensureWorkload(sb, eff(sb));
    expect(await rt.removeWorkload(sb)).toBe('deleted');
    expect(await rt.removeWorkload(sb)).toBe('unchanged');
    expect(await rt.removeVolume(sb)).toBe('deleted');
    expect(await rt.removeVolume(sb)).toBe('unchanged');
    expect(await rt.observe(sb)).toEqual({});
  });

  it('reports a crash as an exited workload with its exit code, and ensureWorkload replaces it', async () => {
    const rt = new MemoryRuntime();
    const sb = sandbox();
    await rt.ensureWorkload(sb, eff(sb));
    rt.crash(sb, 137);
    expect((await rt.observe(sb)).workload).toMatchObject({ state: 'exited', ready: false, exitCode: 137 });
    expect(await rt.ensureWorkload(sb, eff(sb))).toBe('created');
    expect(rt.workload(sb)).toMatchObject({ state: 'running', generation: 2 });
  });

  it('holds readiness back until setReady when readyOnStart is false', async () => {
    const rt = new MemoryRuntime({ readyOnStart: false });
    const sb = sandbox();
    await rt.ensureWorkload(sb, eff(sb));
    expect((await rt.observe(sb)).workload).toMatchObject({ state: 'running', ready: false });
    rt.setReady(sb);
    expect((await rt.observe(sb)).workload).toMatchObject({ state: 'running', ready: true });
  });

  it('starts a created-but-not-started workload ("started")', async () => {
    const rt = new MemoryRuntime();
    const sb = sandbox();
    rt.addChild(
      'workload',
      { name: workloadName(sb), sandboxUid: 'uid-sb' },
      { state: 'created', ready: false },
    );
    expect(await rt.ensureWorkload(sb, eff(sb))).toBe('started');
    expect(rt.workload(sb)).toMatchObject({ state: 'running', ready: true, starts: 2 });
  });

  it('treats a leftover child of an earlier sandbox with the same name as not ours', async () => {
    const rt = new MemoryRuntime();
    const sb = sandbox('same', 'new-uid');
    rt.addChild('workload', { name: workloadName(sb), sandboxUid: 'old-uid' });
    rt.addChild('volume', { name: volumeName(sb), sandboxUid: 'old-uid' });
    expect((await rt.observe(sb)).workload).toMatchObject({ state: 'exited', ready: false });
    expect(await rt.ensureWorkload(sb, eff(sb))).toBe('created');
    expect(rt.workload(sb)?.sandboxUid).toBe('new-uid');
    const err = await rt.ensureVolume(sb, eff(sb)).catch((e: unknown) => e);
    expect(isPlatformError(err) && err.code).toBe('ALREADY_EXISTS');
  });

  it('lists everything it owns and removes owned children idempotently', async () => {
    const rt = new MemoryRuntime();
    const a = sandbox('a');
    await rt.ensureVolume(a, eff(a));
    await rt.ensureWorkload(a, eff(a));
    const owned = await rt.listOwned();
    expect(owned).toEqual([
      {
        type: 'workload',
        name: workloadName(a),
        sandboxUid: 'uid-a',
        sandboxName: 'a',
        namespace: 'default',
      },
      { type: 'volume', name: volumeName(a), sandboxUid: 'uid-a', sandboxName: 'a', namespace: 'default' },
    ]);
    for (const c of owned) await rt.removeOwned(c);
    for (const c of owned) await rt.removeOwned(c);
    expect(await rt.listOwned()).toEqual([]);
  });

  it('injects failures for a number of calls and records them', async () => {
    const rt = new MemoryRuntime();
    const sb = sandbox();
    rt.failOn('ensureVolume', 'disk full', { times: 1 });
    const err = await rt.ensureVolume(sb, eff(sb)).catch((e: unknown) => e);
    expect(isPlatformError(err) && [err.code, err.message]).toEqual(['RUNTIME_FAILED', 'disk full']);
    expect(await rt.ensureVolume(sb, eff(sb))).toBe('created');
    expect(rt.calls.map((c) => [c.op, c.outcome ?? 'error'])).toEqual([
      ['ensureVolume', 'error'],
      ['ensureVolume', 'created'],
    ]);
  });

  it('freezes after an operation, and a restarted runtime sees the same engine', async () => {
    const rt = new MemoryRuntime();
    const sb = sandbox();
    rt.freezeAfter('ensureVolume');
    expect(await rt.ensureVolume(sb, eff(sb))).toBe('created');
    expect(rt.frozen).toBe(true);
    const hung = await Promise.race([
      rt.ensureWorkload(sb, eff(sb)).then(() => 'settled'),
      // The in-memory engine answers within microtasks: a call not settled a macrotask later hangs.
      new Promise((r) => setImmediate(() => r('hung'))),
    ]);
    expect(hung).toBe('hung');
    expect(rt.workload(sb)).toBeUndefined();
    const next = rt.restarted();
    expect(await next.ensureVolume(sb, eff(sb))).toBe('unchanged');
    expect(await next.ensureWorkload(sb, eff(sb))).toBe('created');
  });

  it('vanish removes the workload behind the controller', async () => {
    const rt = new MemoryRuntime();
    const sb = sandbox();
    await rt.ensureWorkload(sb, eff(sb));
    rt.vanish(sb);
    expect(await rt.observe(sb)).toEqual({});
  });
});

runRuntimeContract('memory', async () => {
  const runtime = new MemoryRuntime();
  return {
    runtime,
    newSandbox: async (name) => {
      const sb = sandbox(name, `uid-${name}-0000`);
      return { sandbox: sb, effective: eff(sb) };
    },
    close: async () => {},
  };
});
