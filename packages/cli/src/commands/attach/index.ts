import type { attachCommand } from './command.ts';
import { parseIntFlag } from '../../flags.ts';
import type { HandlerOf, HandlersOf } from '../../spec.ts';
import { followInvoke } from '../invoke/follow.ts';
import { sandboxHandle } from '../sandbox/processes.ts';

const attach: HandlerOf<typeof attachCommand, ''> = async (client, { args, opts }) => {
  const name = args[0];
  const invokeId = args[1];
  const after = opts.after !== undefined ? parseIntFlag(opts.after, '--after', { min: 0 }) : undefined;
  const events = sandboxHandle(client, name).agent.attach(invokeId, {
    signal: client.signal,
    ...(after !== undefined ? { lastEventId: after } : {}),
  });
  return followInvoke(client, name, events);
};

export const attachHandlers: HandlersOf<typeof attachCommand> = { '': attach };
