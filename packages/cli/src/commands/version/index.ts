import type { versionCommand } from './command.ts';
import { EXIT } from '../../errors.ts';
import { SDK_VERSION } from '@agenttier/sdk';
import type { HandlerOf, HandlersOf } from '../../spec.ts';
import { CLI_VERSION } from '../../version.ts';

const version: HandlerOf<typeof versionCommand, ''> = async (client) => {
  const info = { cli: CLI_VERSION, sdk: SDK_VERSION, node: process.versions.node };
  client.print(info, () => `agenttier ${info.cli} (sdk ${info.sdk}, node ${info.node})\n`);
  return EXIT.OK;
};

export const versionHandlers: HandlersOf<typeof versionCommand> = { '': version };
