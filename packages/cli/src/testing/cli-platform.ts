import { afterAll, beforeAll, expect } from 'vitest';
import {
  removeDir,
  removeEngineObjects,
  startTestPlatform,
  testNamespace,
  type TestPlatform,
} from '@agenttier/local/testing';
import { runCli, scratch, startCli, type CliResult, type StartedCli, type TtyCapture } from './run-cli.ts';

/** What a CLI integration test file works with; set up before its first test. */
export interface CliPlatform {
  /** The real local platform the CLI talks to. */
  readonly platform: TestPlatform;
  /** A scratch directory, the CLI's working directory. */
  readonly dir: string;
  /** Runs `agenttier …argv` to completion in `dir`, in the file's own namespace. */
  cli(...argv: string[]): Promise<CliResult>;
  /** Starts a long-running `agenttier …argv` (attach, terminal) in `dir`. */
  start(argv: string[], opts?: { tty?: boolean; stdout?: TtyCapture }): StartedCli;
}

/**
 * The fixture every CLI integration file shares: a local platform on the real engine, a scratch
 * directory, a namespace of the file's own (`prefix`), and, when `sandbox` is given, that sandbox
 * created with `--wait` before the first test. Everything is removed after the last test.
 */
export function useCliPlatform(
  prefix: string,
  opts: { sandbox?: { name: string; template: string } } = {},
): CliPlatform {
  const ns = testNamespace(prefix);
  let platform: TestPlatform | undefined;
  let dir: string | undefined;
  let cleanupDir: (() => Promise<void>) | undefined;
  const ready = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`${what} is not set up yet (used outside a test?)`);
    return v;
  };
  const fixture: CliPlatform = {
    get platform() {
      return ready(platform, 'the platform');
    },
    get dir() {
      return ready(dir, 'the scratch directory');
    },
    cli: (...argv) =>
      runCli(argv, {
        url: fixture.platform.url,
        cwd: fixture.dir,
        env: { AGENTTIER_NAMESPACE: ns, AGENTTIER_POLL_INTERVAL_MS: '200' },
      }),
    start: (argv, o = {}) =>
      startCli(argv, { url: fixture.platform.url, cwd: fixture.dir, env: { AGENTTIER_NAMESPACE: ns }, ...o }),
  };

  beforeAll(async () => {
    platform = await startTestPlatform();
    ({ dir, cleanup: cleanupDir } = await scratch());
    if (opts.sandbox) {
      const { name, template } = opts.sandbox;
      const created = await fixture.cli(
        'sandbox',
        'create',
        name,
        '-t',
        template,
        '--wait',
        '--wait-timeout',
        '3m',
      );
      expect(created.code, created.stderr).toBe(0);
    }
  });

  afterAll(async () => {
    await platform?.close();
    await removeEngineObjects(ns);
    if (platform) removeDir(platform.dataDir);
    await cleanupDir?.();
  });

  return fixture;
}
