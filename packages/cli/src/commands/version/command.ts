import type { CommandSpec } from '../../spec.ts';

export const versionCommand = {
  name: 'version',
  description: 'Print the CLI and SDK versions',
  examples: [{ description: 'As JSON', command: 'agenttier version -o json' }],
} as const satisfies CommandSpec;
