export * from './store/sqlite-store.ts';
export * from './runtime/docker-client.ts';
export * from './runtime/container-spec.ts';
export * from './runtime/docker-runtime.ts';
export * from './runtime/engine-data-plane.ts';
export * from './runtime/no-follow-connect.ts';
export * from './runtime/loop-workspaces.ts';
export * from './runtime/sandboxd-volume.ts';
