export {
  CONTROLLER_COMPONENT,
  parseSandboxPodSecurity,
  startController,
} from './controller/start-controller.ts';
export type { ControllerProcess } from './controller/start-controller.ts';
export { checkCluster, kubeSetupErrorOf, loadKubeAccess } from './preflight.ts';
export type { KubeSetupProblem } from './preflight.ts';
export { ROUTER_COMPONENT, startRouter } from './router/start-router.ts';
export type { RouterProcess } from './router/start-router.ts';
// For the CLI's `agenttier install --render|--apply`.
export { applyInstallManifests, renderInstallManifests } from '@agenttier/platform-kubernetes';
export type { ApplyOpts, InstallOpts } from '@agenttier/platform-kubernetes';
