export * from './errors.ts';
export * from './duration.ts';
export * from './quantity.ts';
export * from './resources.ts';
export * from './api.ts';
export * from './limits.ts';
export * from './openapi.ts';
export * from './wire.ts';
