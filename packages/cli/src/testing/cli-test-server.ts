import { startTestServer, type TestServer } from '@agenttier/sdk/testing';
import { afterEach, beforeEach, expect } from 'vitest';
import { runCli, scratch, type CliResult } from './run-cli.ts';

/** What a CLI unit test works with: a fresh fake API server and scratch directory per test. */
export interface CliTestServer {
  readonly server: TestServer;
  /** The CLI's working directory. */
  readonly dir: string;
  /** Runs `agenttier …argv` against `server`, in `dir`. */
  cli(...argv: string[]): Promise<CliResult>;
}

/**
 * Registers the per-test set-up the CLI command tests share: the SDK's test server (every request a
 * test does not answer fails the test through `unhandled`) and a scratch directory, both removed after.
 */
export function useCliTestServer(): CliTestServer {
  let server: TestServer | undefined;
  let dir: string | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  const fixture: CliTestServer = {
    get server() {
      if (!server) throw new Error('the test server is not started (used outside a test?)');
      return server;
    },
    get dir() {
      if (!dir) throw new Error('the scratch directory is not made (used outside a test?)');
      return dir;
    },
    cli: (...argv) => runCli(argv, { url: fixture.server.url, cwd: fixture.dir }),
  };
  beforeEach(async () => {
    server = await startTestServer();
    ({ dir, cleanup } = await scratch());
  });
  afterEach(async () => {
    await server?.close();
    await cleanup?.();
    expect(server?.unhandled).toEqual([]);
  });
  return fixture;
}
