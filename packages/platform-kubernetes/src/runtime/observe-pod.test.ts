import { describe, expect, it } from 'vitest';
import type { Sandbox } from '@agenttier/contract';
import type { V1Pod } from '@kubernetes/client-node';
import { observePod } from './observe-pod.ts';
import { SANDBOX_CONTAINER } from './pod-builder.ts';

const sandbox = {
  apiVersion: 'agenttier.io/v1alpha1',
  kind: 'Sandbox',
  metadata: { name: 'sb', namespace: 'default', uid: 'uid-now' },
  spec: { templateRef: { name: 'minimal-shell' } },
} as Sandbox;

const pod = (ownerUid: string, phase = 'Running', ready = true): V1Pod => ({
  metadata: {
    name: 'sb-pod',
    ownerReferences: [{ apiVersion: 'agenttier.io/v1alpha1', kind: 'Sandbox', name: 'sb', uid: ownerUid }],
  },
  status: {
    phase,
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    containerStatuses: [{ name: SANDBOX_CONTAINER, ready, restartCount: 0, image: 'x', imageID: 'x' }],
  },
});

describe('observePod', () => {
  it('reports a pod of an earlier sandbox with the same name as exited, with its real owner', () => {
    // The owner uid lets the planner replace it without charging this sandbox's restart budget.
    expect(observePod(pod('uid-before'), sandbox)).toMatchObject({
      state: 'exited',
      ready: false,
      sandboxUid: 'uid-before',
    });
  });

  it('reports its own running pod with its uid', () => {
    expect(observePod(pod('uid-now'), sandbox)).toMatchObject({
      state: 'running',
      ready: true,
      sandboxUid: 'uid-now',
    });
  });

  it('treats a pod on its way out as gone', () => {
    const leaving = pod('uid-now');
    leaving.metadata!.deletionTimestamp = new Date();
    expect(observePod(leaving, sandbox)).toBeUndefined();
  });
});
