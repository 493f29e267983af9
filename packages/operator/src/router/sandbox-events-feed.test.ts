// The Kubernetes events feed against the fake API server; the same suite runs against a real server
// in sandbox-events-feed.real.int.test.ts.
import { afterAll, beforeAll, describe } from 'vitest';
import type { FakeKubeApiServer } from '@agenttier/testkit/kube';
import { startFakeCluster } from '../testing/index.ts';
import { eventsFeedSuite } from '../testing/events-feed-suite.ts';

let fake: FakeKubeApiServer;
beforeAll(async () => {
  fake = await startFakeCluster();
});
afterAll(async () => fake.close());

describe('kubeSandboxEvents (fake API server)', () => {
  eventsFeedSuite(() => fake.kubeConfig);
});
