export { run } from './run.ts';
export { commands, type CommandEntry } from './commands/index.ts';
export { EXIT, CliError, UsageError, describeError } from './errors.ts';
export type { CliDeps, Client, LocalPlatformModule } from './context.ts';
export type { CommandSpec, Handler, HandlerMap } from './spec.ts';
export { CLI_VERSION } from './version.ts';
