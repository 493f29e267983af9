export * from './store-contract.ts';
export * from './memory-runtime.ts';
export * from './eventually.ts';
export * from './memory-store.ts';
export * from './runtime-contract.ts';
