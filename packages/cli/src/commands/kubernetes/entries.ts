import type { CommandEntry } from '../index.ts';
import { controllerCommand, installCommand, routerCommand } from './command.ts';
import { controllerHandlers, installHandlers, routerHandlers } from './index.ts';

/** The Kubernetes platform's commands, in help order. */
export const kubernetesCommands: readonly CommandEntry[] = [
  { spec: installCommand, handlers: installHandlers },
  { spec: controllerCommand, handlers: controllerHandlers },
  { spec: routerCommand, handlers: routerHandlers },
];
