// The operator's behavioural suite against the fake API server (its stand-in kubelet runs the pods).
// The same suite runs against a real cluster in operator-behaviour.real.int.test.ts.
import { fakeOperatorCluster, runOperatorBehaviour } from '../testing/index.ts';

runOperatorBehaviour(fakeOperatorCluster, { testTimeoutMs: 60_000, hookTimeoutMs: 30_000 });
