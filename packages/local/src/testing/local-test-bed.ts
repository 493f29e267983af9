/**
 * One local platform per test file, as a fixture: `useLocalPlatform('it-x')` starts it before the
 * file's tests (beforeAll) and stops it after them (afterAll), removing its data dir and every
 * container and volume of the file's namespace, whatever the tests left behind or failed halfway
 * through. The helpers are bound to that platform and namespace, so a test reads
 * `bed.exec('box', 'id -u')` instead of threading a URL and a namespace through every call.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { eventually } from '@agenttier/testkit';
import type { TestPlatform, TestPlatformOpts } from './platform.ts';
import {
  api,
  execIn,
  removeDir,
  removeEngineObjects,
  startTestPlatform,
  testNamespace,
  waitForPhase,
} from './platform.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- REST answers are loosely typed JSON for terse assertions */

export interface LocalTestBed {
  /** The file's own namespace: `<prefix>-<random>`. */
  readonly ns: string;
  /** `namespace=<ns>`, for query strings. */
  readonly q: string;
  /** The running platform (from beforeAll on). */
  readonly platform: TestPlatform;
  /** Its base URL, `http://127.0.0.1:<port>`. */
  readonly base: string;
  /** A REST call to the platform (`path` from `/api/v1/…` or `/healthz`). */
  api(method: string, path: string, body?: unknown): ReturnType<typeof api>;
  /** POST /exec in sandbox `name`; throws unless it answers 200. */
  exec(name: string, command: string | string[], extra?: { stdin?: string; timeout?: number }): Promise<any>;
  /** Waits until sandbox `name` is in `phase` ('Gone': deleted) and returns its view. */
  waitForPhase(name: string, phase: string, timeoutMs?: number): Promise<any>;
  /**
   * Creates sandbox `name` in the namespace from `template` (or a full create body) and waits until it
   * is Running and its execs are served by sandboxd (not the engine-exec fallback, which contains
   * nothing); returns its view.
   */
  createRunning(name: string, template: string | Record<string, unknown>): Promise<any>;
  /**
   * Closes the platform, runs `whileDown` (a crash's leftovers, written straight into its data dir or
   * the engine), and starts a new platform on the same data dir: what `agenttier up` after a crash does.
   */
  restart(whileDown?: (dataDir: string) => Promise<void>): Promise<TestPlatform>;
}

export interface LocalTestBedOpts extends TestPlatformOpts {
  /** Runs once the platform is up (templates, shared sandboxes), inside the same beforeAll. */
  setup?: (bed: LocalTestBed) => Promise<void>;
  /** How long the start and `setup` may take. @default 180000 */
  setupTimeoutMs?: number;
}

export function useLocalPlatform(prefix: string, opts: LocalTestBedOpts = {}): LocalTestBed {
  const { setup, setupTimeoutMs = 180_000, ...platformOpts } = opts;
  const ns = testNamespace(prefix);
  let platform: TestPlatform | undefined;
  let dataDir: string | undefined;
  const started = (): TestPlatform => {
    if (!platform) throw new Error(`the ${prefix} platform is used before beforeAll started it`);
    return platform;
  };
  const bed: LocalTestBed = {
    ns,
    q: `namespace=${ns}`,
    get platform() {
      return started();
    },
    get base() {
      return started().url;
    },
    api: (method, path, body) => api(started().url, method, path, body),
    exec: (name, command, extra = {}) => execIn(started().url, ns, name, command, extra),
    waitForPhase: (name, phase, timeoutMs) => waitForPhase(started().url, ns, name, phase, timeoutMs),
    async createRunning(name, template) {
      const body = typeof template === 'string' ? { templateRef: { name: template } } : template;
      const created = await bed.api('POST', '/api/v1/sandboxes', { ...body, name, namespace: ns });
      expect(created.status, created.text).toBe(201);
      const view = await bed.waitForPhase(name, 'Running', 120_000);
      await untilServedBySandboxd(bed, name);
      return view;
    },
    async restart(whileDown) {
      const dir = started().dataDir;
      await platform?.close();
      platform = undefined;
      await whileDown?.(dir);
      platform = await startTestPlatform({ ...platformOpts, dataDir: dir });
      return platform;
    },
  };
  beforeAll(async () => {
    platform = await startTestPlatform(platformOpts);
    dataDir = platform.dataDir;
    await setup?.(bed);
  }, setupTimeoutMs);
  afterAll(async () => {
    // Whatever state the tests left: the platform may be closed already, or gone in a failed restart.
    await platform?.close();
    platform = undefined;
    await removeEngineObjects(ns, platformOpts.dockerHost);
    if (dataDir) removeDir(dataDir);
  });
  return bed;
}

/**
 * Waits until sandbox `name`'s execs are served by sandboxd: they carry its process marker
 * (AGENTTIER_PROCESS), engine execs do not. The router falls back to engine exec while sandboxd is
 * still starting, so a sandbox can be Running a moment before that.
 */
export async function untilServedBySandboxd(
  bed: Pick<LocalTestBed, 'exec'>,
  name: string,
  timeoutMs = 60_000,
): Promise<void> {
  await eventually(
    async () => String((await bed.exec(name, 'echo -n $AGENTTIER_PROCESS')).stdout) !== '',
    `${name}: execs served by sandboxd`,
    timeoutMs,
  );
}
