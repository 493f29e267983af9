import type { invokeCommand } from './command.ts';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { InvokeOpts } from '@agenttier/sdk';
import type { Client } from '../../context.ts';
import { EXIT, UsageError } from '../../errors.ts';
import { parseDurationFlag, str } from '../../flags.ts';
import type { HandlerOf, HandlersOf } from '../../spec.ts';
import { sandboxHandle } from '../sandbox/processes.ts';
import { followInvoke } from './follow.ts';

async function readAll(stream: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
}

/** `--input`: literal text, `@file` (read as bytes), or `-` for stdin. */
async function inputOf(client: Client, value: string | undefined): Promise<string | Uint8Array | undefined> {
  if (value === undefined) return undefined;
  if (value === '-') return readAll(client.stdin);
  if (value.startsWith('@') && value.length > 1)
    return new Uint8Array(await readFile(resolve(client.cwd, value.slice(1))));
  return value;
}

const invoke: HandlerOf<typeof invokeCommand, ''> = async (client, { args, opts }) => {
  const name = args[0];
  const agent = sandboxHandle(client, name).agent;
  const cancelId = str(opts.cancel);
  if (cancelId) {
    if (opts.detach || opts.input !== undefined || opts.prompt !== undefined) {
      throw new UsageError('--cancel takes no --input, --prompt or --detach');
    }
    await agent.cancel(cancelId, { signal: client.signal });
    if (client.output === 'table') client.log(`Canceled invoke ${cancelId}.`);
    else client.print({ invokeId: cancelId, canceled: true }, () => '');
    return EXIT.OK;
  }
  const timeout = str(opts.timeout);
  if (timeout !== undefined) parseDurationFlag(timeout, '--timeout');
  const input = await inputOf(client, typeof opts.input === 'string' ? opts.input : undefined);
  const prompt = typeof opts.prompt === 'string' ? opts.prompt : undefined;
  const invokeOpts: InvokeOpts = {
    ...(input !== undefined ? { input } : {}),
    ...(prompt !== undefined ? { prompt } : {}),
    ...(timeout ? { timeout } : {}),
    signal: client.signal,
  };
  if (opts.detach) {
    const invokeId = await agent.invokeDetached(invokeOpts);
    if (client.output === 'table') {
      client.stdout.write(`${invokeId}\n`);
      client.log(`Follow it with: agenttier attach ${name} ${invokeId}`);
    } else {
      client.print({ invokeId }, () => '');
    }
    return EXIT.OK;
  }
  return followInvoke(client, name, agent.invokeStream(invokeOpts));
};

export const invokeHandlers: HandlersOf<typeof invokeCommand> = { '': invoke };
