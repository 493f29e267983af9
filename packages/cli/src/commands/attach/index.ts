import { parseIntFlag } from '../../flags.ts';
import type { Handler, HandlerMap } from '../../spec.ts';
import { followInvoke } from '../invoke/follow.ts';
import { sandboxHandle } from '../sandbox/processes.ts';

const attach: Handler = async (client, { args, opts }) => {
  const name = args[0] as string;
  const invokeId = args[1] as string;
  const after = opts.after !== undefined ? parseIntFlag(opts.after, '--after', { min: 0 }) : undefined;
  const events = sandboxHandle(client, name).agent.attach(invokeId, {
    signal: client.signal,
    ...(after !== undefined ? { lastEventId: after } : {}),
  });
  return followInvoke(client, name, events);
};

export const attachHandlers: HandlerMap = { '': attach };
