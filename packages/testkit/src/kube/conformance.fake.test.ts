// The conformance suite against the fake kube-apiserver.
import { afterAll, beforeAll } from 'vitest';
import { runKubeConformance } from './conformance.ts';
import { startFakeKubeApiServer } from './server.ts';
import type { FakeKubeApiServer } from './server.ts';

let server: FakeKubeApiServer;
beforeAll(async () => {
  server = await startFakeKubeApiServer();
});
afterAll(async () => {
  await server.close();
});

runKubeConformance(() => server);
