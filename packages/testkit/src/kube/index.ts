// Public entry of the fake kube-apiserver (see README.md). The conformance suite is imported from
// ./conformance.ts by test files only, because it pulls in vitest.
export { startFakeKubeApiServer } from './server.ts';
export type { FakeKubeApiServer, FakeKubeApiServerOpts, FakeKubeFaults } from './server.ts';
export type { Failure, FaultMatch, RequestInfo, Verb } from './faults.ts';
export type { FakeKubelet, PodPhase, PodStatusUpdate } from './kubelet.ts';
export type { RequestRecord } from './handler.ts';
