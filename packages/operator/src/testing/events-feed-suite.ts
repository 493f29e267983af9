// The Kubernetes events feed (router/sandbox-events-feed.ts) through the real client library: run
// against the fake API server (sandbox-events-feed.test.ts) and a real one
// (sandbox-events-feed.real.int.test.ts), so field selectors, timestamps and ordering by
// resourceVersion are what a real server does.
import { randomBytes } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { CoreV1Api } from '@kubernetes/client-node';
import { expect, it } from 'vitest';
import type { Sandbox } from '@agenttier/contract';
import { API_VERSION } from '@agenttier/contract';
import { silentLogger } from '@agenttier/core';
import { kubeSandboxEvents } from '../router/sandbox-events-feed.ts';

export function eventsFeedSuite(kubeConfig: () => KubeConfig, namespace = 'default'): void {
  it("answers this Sandbox's own Events, oldest first, repeats merged, without audit or others", async () => {
    const core = kubeConfig().makeApiClient(CoreV1Api);
    const id = randomBytes(3).toString('hex');
    const name = `feed-${id}`;
    const uid = `uid-now-${id}`;
    const sandbox: Sandbox = {
      apiVersion: API_VERSION,
      kind: 'Sandbox',
      metadata: { name, namespace, uid },
      spec: { templateRef: { name: 'minimal-shell' } },
    };
    let n = 0;
    const event = async (o: {
      reason: string;
      message: string;
      at: string;
      type?: string;
      name?: string;
      uid?: string;
      kind?: string;
    }) =>
      core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { name: `${name}.${++n}`, namespace },
          involvedObject: {
            apiVersion: API_VERSION,
            kind: o.kind ?? 'Sandbox',
            name: o.name ?? name,
            namespace,
            uid: o.uid ?? uid,
          },
          reason: o.reason,
          message: o.message,
          type: o.type ?? 'Normal',
          source: { component: 'agenttier-controller' },
          reportingComponent: 'agenttier-controller',
          firstTimestamp: new Date(o.at),
          lastTimestamp: new Date(o.at),
          count: 1,
        },
      });
    await event({ reason: 'Running', message: 'Sandbox is ready', at: '2026-03-01T12:00:05Z' });
    await event({ reason: 'Provisioned', message: 'Workspace volume created', at: '2026-03-01T12:00:01Z' });
    // Same second: the order of writing decides.
    await event({ reason: 'Created', message: 'Workload created and starting', at: '2026-03-01T12:00:01Z' });
    for (const at of ['2026-03-01T12:00:07Z', '2026-03-01T12:00:09Z'])
      await event({ reason: 'BackOff', type: 'Warning', message: 'no; retrying with back-off', at });
    await event({ reason: 'Audit', message: 'POST exec by alice', at: '2026-03-01T12:00:08Z' });
    await event({
      reason: 'Running',
      message: 'an earlier one',
      uid: `uid-before-${id}`,
      at: '2026-03-01T11:00:00Z',
    });
    await event({
      reason: 'Running',
      message: 'another sandbox',
      name: `other-${id}`,
      at: '2026-03-01T12:00:02Z',
    });
    await event({ reason: 'Pulled', message: 'a pod', kind: 'Pod', at: '2026-03-01T12:00:02Z' });

    const feed = await kubeSandboxEvents(kubeConfig(), silentLogger).list(sandbox);
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
}
