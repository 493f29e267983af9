export { SqliteStore } from './store/sqlite-store.ts';
export { createDockerClient, defaultDockerHost } from './runtime/docker-client.ts';
export { LABEL_INSTANCE, SANDBOXD_SOCKET_NAME } from './runtime/container-spec.ts';
export { DockerRuntime, RUNTIME_STEPS } from './runtime/docker-runtime.ts';
export type { DockerRuntimeOpts, RuntimeStep } from './runtime/docker-runtime.ts';
export { EngineDataPlane } from './runtime/engine-data-plane.ts';
export { connectNoFollow } from './runtime/no-follow-connect.ts';
export { LoopWorkspaces, MIN_WORKSPACE_BYTES } from './runtime/loop-workspaces.ts';
export { stageSandboxdVolumes } from './runtime/sandboxd-volume.ts';
export {
  LABEL_HOST_DATA_ROOT,
  engineHostDataRoot,
  engineHostPaths,
  sameHostPath,
} from './runtime/engine-host-paths.ts';
export type { HostPathOf } from './runtime/engine-host-paths.ts';
export type { StagedSandboxd } from './runtime/sandboxd-volume.ts';
