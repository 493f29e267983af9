// Leader election on a Lease, against whichever API server the caller provides: the fake (unit
// project) and real kube-apiservers (scripts/kube.sh). The real server is the judge of the wire
// format (MicroTime acquire/renew times).
import { randomBytes } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { CoordinationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { eventually } from '@agenttier/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLeaderElection } from '../controller/leader-election.ts';
import type { LeaderElector } from '../controller/leader-election.ts';

export interface LeaseTarget {
  kubeConfig: KubeConfig;
  close?: () => Promise<void>;
}

export function leaderElectionSuite(getTarget: () => Promise<LeaseTarget>): void {
  describe('leader election on a Lease', () => {
    let target: LeaseTarget;
    const namespace = `lease-${randomBytes(3).toString('hex')}`;
    const electors: LeaderElector[] = [];
    beforeAll(async () => {
      target = await getTarget();
      await target.kubeConfig
        .makeApiClient(CoreV1Api)
        .createNamespace({ body: { metadata: { name: namespace } } });
    });
    afterAll(async () => {
      for (const e of electors) await e.stop();
      await target?.kubeConfig
        .makeApiClient(CoreV1Api)
        .deleteNamespace({ name: namespace })
        .catch(() => undefined);
      await target?.close?.();
    });

    it('acquires the Lease, renews it in MicroTime, and hands over when the leader stops', async () => {
      const leading = new Set<string>();
      const start = (identity: string) => {
        const e = startLeaderElection({
          kubeConfig: target.kubeConfig,
          namespace,
          identity,
          leaseDurationSeconds: 15,
          retryPeriodMs: 200,
          onStartedLeading: () => void leading.add(identity),
          onStoppedLeading: () => void leading.delete(identity),
        });
        electors.push(e);
        return e;
      };
      const a = start('replica-a');
      await eventually(() => a.isLeader, 'replica-a to lead', 20_000);
      const b = start('replica-b');
      const leases = target.kubeConfig.makeApiClient(CoordinationV1Api);
      const first = await leases.readNamespacedLease({ namespace, name: 'agenttier-controller-leader' });
      expect(first.spec?.holderIdentity).toBe('replica-a');
      expect(String(first.spec?.renewTime)).toMatch(/\.\d{6}Z$/);
      // a renewal moves renewTime on
      await eventually(
        async () =>
          String(
            (await leases.readNamespacedLease({ namespace, name: 'agenttier-controller-leader' })).spec
              ?.renewTime,
          ) !== String(first.spec?.renewTime),
        'a renewal',
        20_000,
      );
      expect(b.isLeader).toBe(false);
      await a.stop();
      await eventually(() => b.isLeader, 'replica-b to take over', 20_000);
      const after = await leases.readNamespacedLease({ namespace, name: 'agenttier-controller-leader' });
      expect(after.spec?.holderIdentity).toBe('replica-b');
      expect(after.spec?.leaseTransitions).toBe(1);
      expect([...leading]).toEqual(['replica-b']);
    });
  });
}
