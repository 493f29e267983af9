import type { CommandSpec, HandlerMap } from '../spec.ts';
import { apikeyCommand, whoamiCommand } from './auth/command.ts';
import { apikeyHandlers, whoamiHandlers } from './auth/index.ts';
import { attachCommand } from './attach/command.ts';
import { loginCommand, logoutCommand } from './login/command.ts';
import { loginHandlers, logoutHandlers } from './login/index.ts';
import { attachHandlers } from './attach/index.ts';
import { configureCommand } from './configure/command.ts';
import { configureHandlers } from './configure/index.ts';
import { invokeCommand } from './invoke/command.ts';
import { kubernetesCommands } from './kubernetes/entries.ts';
import { mcpCommand } from './mcp/command.ts';
import { mcpHandlers } from './mcp/index.ts';
import { invokeHandlers } from './invoke/index.ts';
import { invokesCommand } from './invokes/command.ts';
import { invokesHandlers } from './invokes/index.ts';
import { configCommand } from './config/command.ts';
import { configHandlers } from './config/index.ts';
import { sandboxCommand } from './sandbox/command.ts';
import { sandboxHandlers } from './sandbox/index.ts';
import { templateCommand } from './template/command.ts';
import { secretCommand } from './secret/command.ts';
import { secretHandlers } from './secret/index.ts';
import { templateHandlers } from './template/index.ts';
import { upCommand } from './up/command.ts';
import { upHandlers } from './up/index.ts';
import { versionCommand } from './version/command.ts';
import { versionHandlers } from './version/index.ts';

export interface CommandEntry {
  spec: CommandSpec;
  handlers: HandlerMap;
}

/** Every top-level command, in help order. */
export const commands: readonly CommandEntry[] = [
  { spec: upCommand, handlers: upHandlers },
  { spec: sandboxCommand, handlers: sandboxHandlers },
  { spec: configureCommand, handlers: configureHandlers },
  { spec: invokeCommand, handlers: invokeHandlers },
  { spec: attachCommand, handlers: attachHandlers },
  { spec: invokesCommand, handlers: invokesHandlers },
  { spec: templateCommand, handlers: templateHandlers },
  { spec: secretCommand, handlers: secretHandlers },
  { spec: configCommand, handlers: configHandlers },
  { spec: loginCommand, handlers: loginHandlers },
  { spec: logoutCommand, handlers: logoutHandlers },
  { spec: whoamiCommand, handlers: whoamiHandlers },
  { spec: apikeyCommand, handlers: apikeyHandlers },
  { spec: mcpCommand, handlers: mcpHandlers },
  ...kubernetesCommands,
  { spec: versionCommand, handlers: versionHandlers },
];
