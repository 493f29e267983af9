import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '@agenttier/contract';
import type { EffectiveSandbox, Runtime } from '@agenttier/core';
import { eventually } from './eventually.ts';

/** What one runtime needs to run the suite: sandboxes as its platform stores them, and its world. */
export interface RuntimeContractTarget {
  runtime: Runtime;
  /** A stored sandbox (with a uid) in the suite's namespace, and its effective template. */
  newSandbox(name: string): Promise<{ sandbox: Sandbox; effective: EffectiveSandbox }>;
  /** Whatever makes a started workload run (a kubelet on a fake cluster); nothing elsewhere. */
  letRun?(sandbox: Sandbox): Promise<void>;
  /** Removes everything the suite left behind. */
  close(): Promise<void>;
}

/** How long a real engine may take to start or remove a container. */
const WAIT_MS = 60_000;

/**
 * The behaviour every Runtime must have: idempotent ensure/remove with the ChildOutcome each call
 * reports, observe that tells ours from a leftover of an earlier sandbox with the same name, and
 * listOwned/removeOwned for orphan collection. Run from the implementation's own test file:
 * `runRuntimeContract('docker', async () => ({ runtime, newSandbox, close }))`.
 */
export function runRuntimeContract(
  name: string,
  start: () => Promise<RuntimeContractTarget>,
  opts: { skip?: boolean } = {},
) {
  describe.skipIf(opts.skip ?? false)(`Runtime contract: ${name}`, () => {
    let t: RuntimeContractTarget;
    beforeAll(async () => {
      t = await start();
    });
    afterAll(async () => {
      await t?.close();
    });

    const running = (sb: Sandbox) =>
      eventually(
        async () => {
          await t.letRun?.(sb);
          const w = (await t.runtime.observe(sb)).workload;
          return w?.state === 'running' && w;
        },
        `the workload of ${sb.metadata.name} to run`,
        WAIT_MS,
      );
    const gone = (sb: Sandbox, what: 'workload' | 'volume') =>
      eventually(
        async () => (await t.runtime.observe(sb))[what] === undefined,
        `the ${what} of ${sb.metadata.name} to be gone`,
        WAIT_MS,
      );

    it('observes nothing for a sandbox it has not made anything for', async () => {
      const { sandbox } = await t.newSandbox('rc-empty');
      const observed = await t.runtime.observe(sandbox);
      expect(observed.workload).toBeUndefined();
      expect(observed.volume).toBeUndefined();
    });

    it('creates each child once (ensure is idempotent) and reports it as owned by its sandbox', async () => {
      const { sandbox, effective } = await t.newSandbox('rc-life');
      expect(await t.runtime.ensureVolume(sandbox, effective)).toBe('created');
      expect(await t.runtime.ensureVolume(sandbox, effective)).toBe('unchanged');
      expect(await t.runtime.ensureWorkload(sandbox, effective)).toBe('created');
      const w = await running(sandbox);
      expect(w.sandboxUid).toBe(sandbox.metadata.uid);
      expect(await t.runtime.ensureWorkload(sandbox, effective)).toBe('unchanged');
      const observed = await t.runtime.observe(sandbox);
      expect(observed.volume?.sandboxUid ?? sandbox.metadata.uid).toBe(sandbox.metadata.uid);
      const owned = (await t.runtime.listOwned()).filter((c) => c.sandboxUid === sandbox.metadata.uid);
      expect(owned.map((c) => c.type).sort()).toEqual(['volume', 'workload']);
      expect(owned.every((c) => c.sandboxName === 'rc-life')).toBe(true);
    });

    it('removes each child once (remove is idempotent), the volume surviving the workload', async () => {
      const { sandbox, effective } = await t.newSandbox('rc-remove');
      await t.runtime.ensureVolume(sandbox, effective);
      await t.runtime.ensureWorkload(sandbox, effective);
      await running(sandbox);
      expect(await t.runtime.removeWorkload(sandbox)).toBe('deleted');
      await gone(sandbox, 'workload');
      expect(await t.runtime.removeWorkload(sandbox)).toBe('unchanged');
      expect((await t.runtime.observe(sandbox)).volume).toBeDefined(); // stop keeps the workspace
      expect(await t.runtime.removeVolume(sandbox)).toBe('deleted');
      await gone(sandbox, 'volume');
      expect(await t.runtime.removeVolume(sandbox)).toBe('unchanged');
    });

    it('tells a leftover of an earlier sandbox with the same name from its own children', async () => {
      const first = await t.newSandbox('rc-reused');
      await t.runtime.ensureVolume(first.sandbox, first.effective);
      // A new sandbox of the same name (another uid) whose predecessor's volume was not collected yet.
      const second = structuredClone(first.sandbox);
      second.metadata.uid = `${first.sandbox.metadata.uid!.slice(0, -4)}beef`;
      const observed = await t.runtime.observe(second);
      expect(observed.volume?.sandboxUid).toBe(first.sandbox.metadata.uid);
      await t.runtime.removeVolume(first.sandbox);
    });

    it('lists the children of a sandbox that is gone, and removes them (orphan collection)', async () => {
      const { sandbox, effective } = await t.newSandbox('rc-orphan');
      await t.runtime.ensureVolume(sandbox, effective);
      await t.runtime.ensureWorkload(sandbox, effective);
      const mine = async () =>
        (await t.runtime.listOwned()).filter((c) => c.sandboxUid === sandbox.metadata.uid);
      expect(await mine()).toHaveLength(2);
      for (const child of await mine()) await t.runtime.removeOwned(child);
      await eventually(async () => (await mine()).length === 0, 'the orphans to be removed', WAIT_MS);
    });
  });
}
