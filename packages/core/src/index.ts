export * from './ports.ts';
export * from './template-merge.ts';
export * from './plan.ts';
export * from './work-queue.ts';
export * from './sandbox-reconciler.ts';
export * from './controller.ts';
export * from './builtin-templates.ts';
export * from './names.ts';
