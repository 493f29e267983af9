import { afterEach, beforeEach, expect } from 'vitest';
import { startTestServer, type TestServer } from './test-server.ts';

/**
 * Registers the per-test fake API server the SDK and CLI unit tests share: a fresh one before each
 * test, closed after it, and a request no route handled fails the test. The returned handle always
 * speaks for the current test's server, so a module-level `const server = useTestServer()` works.
 */
export function useTestServer(): TestServer {
  let current: TestServer | undefined;
  const started = (): TestServer => {
    if (!current) throw new Error('the test server is not started (used outside a test?)');
    return current;
  };
  beforeEach(async () => {
    current = await startTestServer();
  });
  afterEach(async () => {
    const finished = started();
    current = undefined;
    await finished.close();
    expect(finished.unhandled).toEqual([]);
  });
  return {
    get url() {
      return started().url;
    },
    get requests() {
      return started().requests;
    },
    get unhandled() {
      return started().unhandled;
    },
    route: (key, handler) => started().route(key, handler),
    upgrade: (key, handler) => started().upgrade(key, handler),
    close: () => started().close(),
  };
}
