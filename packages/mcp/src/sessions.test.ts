import { PlatformError } from '@agenttier/contract';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { McpSessions } from './sessions.ts';

const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '0' } },
};

let clock = 0;
let sessions: McpSessions;
const make = (limits: ConstructorParameters<typeof McpSessions>[1]) => {
  sessions = new McpSessions(
    () => new McpServer({ name: 't', version: '0' }),
    limits,
    () => clock,
  );
  return sessions;
};
afterEach(async () => sessions?.closeAll());

async function refusal(p: Promise<unknown>): Promise<[number, string]> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PlatformError);
  return [(err as PlatformError).status, (err as PlatformError).code];
}

describe('McpSessions', () => {
  it('closes a session idle past the timeout, never a busy one', async () => {
    const s = make({ idleTimeoutMs: 60_000 });
    const idle = await s.open({}, INIT, 'alice');
    const busy = await s.open({}, INIT, 'alice');
    busy.inflight = 1; // a tool call still running
    clock += 60_000;
    await s.sweep();
    expect(await refusal(s.open({ 'mcp-session-id': idle.id }, {}, 'alice'))).toEqual([404, 'NOT_FOUND']);
    expect(await s.open({ 'mcp-session-id': busy.id }, {}, 'alice')).toBe(busy);
    expect(s.size).toBe(1);
  });

  it('a caller at its cap loses its least recently used idle session; all busy: 429', async () => {
    const s = make({ maxSessionsPerOwner: 2 });
    const a = await s.open({}, INIT, 'alice');
    clock += 1;
    const b = await s.open({}, INIT, 'alice');
    clock += 1;
    a.lastUsedMs = clock; // a was used after b: b is the least recently used
    const c = await s.open({}, INIT, 'alice');
    expect(await refusal(s.open({ 'mcp-session-id': b.id }, {}, 'alice'))).toEqual([404, 'NOT_FOUND']);
    a.inflight = 1;
    c.inflight = 1;
    expect(await refusal(s.open({}, INIT, 'alice'))).toEqual([429, 'RATE_LIMITED']);
    expect((await s.open({}, INIT, 'bob')).owner).toBe('bob'); // another caller is not affected
  });

  it('past the total it refuses, evicting nobody else', async () => {
    const s = make({ maxSessions: 2 });
    const a = await s.open({}, INIT, 'alice');
    await s.open({}, INIT, 'bob');
    expect(await refusal(s.open({}, INIT, 'carol'))).toEqual([503, 'UNAVAILABLE']);
    expect(await s.open({ 'mcp-session-id': a.id }, {}, 'alice')).toBe(a);
  });

  it('another caller naming a session gets 404; no session and no initialize gets 400', async () => {
    const s = make({});
    const a = await s.open({}, INIT, 'alice');
    expect(await refusal(s.open({ 'mcp-session-id': a.id }, {}, 'mallory'))).toEqual([404, 'NOT_FOUND']);
    expect(await refusal(s.open({}, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, 'alice'))).toEqual([
      400,
      'BAD_REQUEST',
    ]);
    expect(await refusal(s.open({ 'mcp-session-id': [a.id, a.id] }, {}, 'alice'))).toEqual([
      400,
      'BAD_REQUEST',
    ]);
  });

  it('refuses limits that are not positive integers', () => {
    expect(() => make({ idleTimeoutMs: 0 })).toThrow(/idleTimeoutMs must be a positive integer/);
  });
});
