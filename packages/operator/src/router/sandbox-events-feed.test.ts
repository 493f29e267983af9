// The Kubernetes events feed against the fake API server (the real client library, HTTP, field
// selectors): only this Sandbox's Events (this uid), without the audit mirror, oldest first with
// one-per-occurrence repeats merged.
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '@agenttier/contract';
import { API_VERSION } from '@agenttier/contract';
import { silentLogger } from '@agenttier/core';
import type { FakeKubeApiServer } from '@agenttier/testkit/kube';
import { startFakeCluster } from '../testing/index.ts';
import { kubeSandboxEvents } from './sandbox-events-feed.ts';

let fake: FakeKubeApiServer;
beforeAll(async () => {
  fake = await startFakeCluster();
});
afterAll(async () => fake.close());

const sandbox: Sandbox = {
  apiVersion: API_VERSION,
  kind: 'Sandbox',
  metadata: { name: 'feed', namespace: 'default', uid: 'uid-now' },
  spec: { templateRef: { name: 'minimal-shell' } },
};

let n = 0;
async function event(opts: {
  name?: string;
  uid?: string;
  reason: string;
  type?: string;
  message: string;
  at: string;
  kind?: string;
}) {
  const core = fake.kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespacedEvent({
    namespace: 'default',
    body: {
      metadata: { name: `feed.${++n}`, namespace: 'default' },
      involvedObject: {
        apiVersion: API_VERSION,
        kind: opts.kind ?? 'Sandbox',
        name: opts.name ?? 'feed',
        namespace: 'default',
        uid: opts.uid ?? 'uid-now',
      },
      reason: opts.reason,
      message: opts.message,
      type: opts.type ?? 'Normal',
      source: { component: 'agenttier-controller' },
      reportingComponent: 'agenttier-controller',
      firstTimestamp: new Date(opts.at),
      lastTimestamp: new Date(opts.at),
      count: 1,
    },
  });
}

describe('kubeSandboxEvents', () => {
  it("answers this Sandbox's own Events, oldest first, repeats merged, without audit or others", async () => {
    await event({ reason: 'Running', message: 'Sandbox is ready', at: '2026-03-01T12:00:05Z' });
    await event({ reason: 'Provisioned', message: 'Workspace volume created', at: '2026-03-01T12:00:01Z' });
    // Same second: the order of writing decides.
    await event({ reason: 'Created', message: 'Workload created and starting', at: '2026-03-01T12:00:01Z' });
    for (const at of ['2026-03-01T12:00:07Z', '2026-03-01T12:00:09Z'])
      await event({ reason: 'BackOff', type: 'Warning', message: 'no; retrying with back-off', at });
    await event({ reason: 'Audit', message: 'POST exec by alice', at: '2026-03-01T12:00:08Z' });
    await event({
      reason: 'Running',
      message: 'an earlier sandbox',
      uid: 'uid-before',
      at: '2026-03-01T11:00:00Z',
    });
    await event({ reason: 'Running', message: 'another sandbox', name: 'other', at: '2026-03-01T12:00:02Z' });
    await event({ reason: 'Pulled', message: 'a pod', kind: 'Pod', at: '2026-03-01T12:00:02Z' });

    const feed = await kubeSandboxEvents(fake.kubeConfig, silentLogger).list(sandbox);
    expect(feed.map((e) => [e.type, e.reason, e.count])).toEqual([
      ['Normal', 'Provisioned', 1],
      ['Normal', 'Created', 1],
      ['Normal', 'Running', 1],
      ['Warning', 'BackOff', 2],
    ]);
    expect(feed[3]).toMatchObject({
      firstTimestamp: '2026-03-01T12:00:07Z',
      lastTimestamp: '2026-03-01T12:00:09Z',
      source: 'agenttier-controller',
    });
  });
});
