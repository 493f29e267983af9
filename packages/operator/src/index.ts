export * from './controller/events.ts';
export * from './controller/leader-election.ts';
export * from './controller/metrics.ts';
export * from './controller/start-controller.ts';
export * from './http-endpoints.ts';
export * from './preflight.ts';
export * from './router/sandboxd-pods.ts';
export * from './router/start-router.ts';
export * from './router/tar-fallback.ts';
// For the CLI's `agenttier install --render|--apply`.
export { applyInstallManifests, renderInstallManifests } from '@agenttier/platform-kubernetes';
export type { ApplyOpts, InstallOpts } from '@agenttier/platform-kubernetes';
