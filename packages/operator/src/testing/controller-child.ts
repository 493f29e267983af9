// A controller replica as a process of its own, for tests that kill it without warning (SIGKILL: no
// Lease release, no cleanup). KUBECONFIG names the cluster; argv[2] is a JSON object of
// startController options (identity, namespace, Lease timings, sandboxNamespaces, injectorImage).
import { startController } from '../controller/start-controller.ts';
import type { ControllerProcessOpts } from '../controller/start-controller.ts';

const given = JSON.parse(process.argv[2] ?? '{}') as ControllerProcessOpts;
await startController({
  ...given,
  leaderElection: true,
  healthPort: 0,
  metricsPort: 0,
  host: '127.0.0.1',
  logLevel: process.env.AGENTTIER_E2E_LOG_LEVEL ?? 'warn',
});
