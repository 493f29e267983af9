export * from './app.ts';
export * from './context.ts';
export * from './errors.ts';
export * from './local-platform.ts';
export * from './metrics.ts';
export * from './paths.ts';
export * from './views.ts';
export * from './data-plane/sandboxd-data-plane.ts';
