import { afterEach, beforeEach, expect } from 'vitest';
import { AgentTier } from '@agenttier/sdk';
import { startTestServer, type TestServer } from '@agenttier/sdk/testing';

/**
 * A fresh SDK test server (a real HTTP and WebSocket server) and a client of it for each test; a
 * request no route handled fails the test.
 */
export function useSdkTestServer(): { readonly server: TestServer; readonly client: AgentTier } {
  const ctx = {} as { server: TestServer; client: AgentTier };
  beforeEach(async () => {
    ctx.server = await startTestServer();
    ctx.client = new AgentTier({ apiUrl: ctx.server.url, env: {} });
  });
  afterEach(async () => {
    await ctx.server.close();
    expect(ctx.server.unhandled).toEqual([]);
  });
  return ctx;
}
