/**
 * What the Docker-API engine under test can do, asked once per file: whether it is Podman, whether
 * gVisor's runsc is registered, and whether runsc lets a sandbox's unix socket reach the host. Suites
 * skip their runsc or Podman cases from this, with the reason printed, instead of each asking the
 * engine its own way.
 */
import { expect } from 'vitest';
import { createDockerClient } from '@agenttier/platform-local';
import type { LocalTestBed } from './local-test-bed.ts';
import { dockerHost } from './platform.ts';

export interface EngineFeatures {
  /** The endpoint asked. */
  host: string;
  /** Why nothing can run: no engine answers. */
  unreachable?: string;
  /** Podman's Docker-compatible API (it lists runtimes but cannot choose one per container). */
  podman: boolean;
  /** runsc is registered and can be chosen (scripts/engine.sh adds it to /etc/agenttier/daemon.json). */
  runsc: boolean;
  /** runsc runs with --host-uds=create, so sandboxd's unix socket is reachable from the host. */
  runscHostUds: boolean;
}

export async function probeEngine(host: string = dockerHost): Promise<EngineFeatures> {
  try {
    const docker = createDockerClient(host);
    const [info, version] = await Promise.all([docker.info(), docker.version()]);
    const podman = !!version.Components?.some((c) => /podman/i.test(c.Name));
    const runsc = (info as { Runtimes?: Record<string, { runtimeArgs?: string[] }> }).Runtimes?.runsc;
    return {
      host,
      podman,
      runsc: !podman && runsc !== undefined,
      runscHostUds: !podman && (runsc?.runtimeArgs ?? []).some((a) => /^--?host-uds=(create|all)$/.test(a)),
    };
  } catch (err) {
    return {
      host,
      unreachable: `no engine answers at ${host}: ${(err as Error).message}`,
      podman: false,
      runsc: false,
      runscHostUds: false,
    };
  }
}

export interface CodeTemplateOpts {
  /** `gvisor` for runsc. @default the engine's default runtime */
  runtimeClass?: string;
  /**
   * The pids limit. Under runsc it counts the gVisor Sentry's host threads, not the sandbox's
   * processes (docs/gvisor.md), so runsc templates want thousands. @default 1024
   */
  pids?: number;
}

/** A code-mode cluster template like minimal-shell (1 CPU, 1 GiB, a 1 GiB workspace), as a POST body. */
export function codeTemplate(name: string, opts: CodeTemplateOpts = {}) {
  return {
    name,
    spec: {
      mode: 'code',
      image: { repository: 'agenttier/minimal-shell:dev', pullPolicy: 'Never' },
      resources: { limits: { cpu: '1', memory: '1Gi' }, pids: opts.pids ?? 1024 },
      storage: { size: '1Gi', mountPath: '/workspace' },
      harness: { shell: '/bin/bash', workingDir: '/workspace' },
      ...(opts.runtimeClass ? { runtimeClass: opts.runtimeClass } : {}),
    },
  };
}

/**
 * Registers the code templates of a suite that runs its cases under both runtimes: `<prefix>-runc`
 * with `runcPids`, and `<prefix>-runsc` (gVisor) when the engine has runsc. That one gets a pids limit
 * of 4096: under runsc the limit counts the Sentry's host threads (docs/gvisor.md; at 256, runsc
 * 2022-12 ran out of threads with ~20 processes alive and the whole sandbox died).
 */
export async function createRuntimeTemplates(
  bed: Pick<LocalTestBed, 'api'>,
  prefix: string,
  opts: { runsc: boolean; runcPids: number },
): Promise<void> {
  for (const tpl of [
    codeTemplate(`${prefix}-runc`, { pids: opts.runcPids }),
    ...(opts.runsc ? [codeTemplate(`${prefix}-runsc`, { pids: 4096, runtimeClass: 'gvisor' })] : []),
  ]) {
    const r = await bed.api('POST', '/api/v1/templates', tpl);
    expect(r.status, r.text).toBe(201);
  }
}
