import { randomBytes } from 'node:crypto';
import type { AgentConfigView, AgentConfigureStatus, Sandbox } from '@agenttier/contract';
import { PlatformError, formatDurationMs, isPlatformError, parseDurationMs } from '@agenttier/contract';
import type { AgentRecordStore, DataPlane, EffectiveSandbox, InvokeRecord, Store } from '@agenttier/core';
import { resolveEffectiveSandbox, templateLookup } from '@agenttier/core';
import type { SandboxdClient } from '@agenttier/sandboxd';
import { exitFromDaemon, processFromDaemon } from '../data-plane/daemon-answers.ts';
import { fromSandboxdError } from '../data-plane/sandboxd-data-plane.ts';
import type { AgentMetrics } from './agent-metrics.ts';
import type { ConfigureRequest } from '@agenttier/contract';
import type { ConfigureFile } from './configure-request.ts';
import { configureHash } from './configure-request.ts';
import { InvokeRun } from './invoke-run.ts';
import { LineSplitter } from './line-splitter.ts';

export const DEFAULT_INVOKE_TIMEOUT_MS = 30 * 60_000;
export const DEFAULT_INSTALL_TIMEOUT_MS = 15 * 60_000;
export const MAX_INVOKE_BODY_BYTES = 16 * 1024 * 1024;
const INSTALL_LOG_TAIL_BYTES = 8 * 1024;
const CONCURRENCY_RETRY_AFTER_SEC = 5;

export interface AgentServiceDeps {
  store: Store;
  records: AgentRecordStore;
  sandboxdFor: (sandbox: Sandbox) => SandboxdClient | undefined;
  dataPlaneFor: (sandbox: Sandbox) => Promise<DataPlane>;
  metrics: AgentMetrics;
}

export type ConfigureEmit = (event: 'log' | 'result' | 'error', data: unknown) => void;

const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Agent mode: /configure (install once) and /invoke (run the entrypoint on demand), with durable runs. */
export function createAgentService(deps: AgentServiceDeps) {
  const runs = new Map<string, InvokeRun>();
  /** Reserved or running invokes per sandbox uid: reserved synchronously so 10 racing requests count right. */
  const inflight = new Map<string, number>();
  const lookup = templateLookup(deps.store);

  const release = (uid: string) => {
    const n = (inflight.get(uid) ?? 1) - 1;
    if (n <= 0) inflight.delete(uid);
    else inflight.set(uid, n);
  };

  async function effectiveOf(sb: Sandbox): Promise<EffectiveSandbox> {
    return (await resolveEffectiveSandbox(sb, lookup)).effective;
  }

  function clientOf(sb: Sandbox): SandboxdClient {
    const client = deps.sandboxdFor(sb);
    if (!client) {
      throw new PlatformError(
        'UNAVAILABLE',
        `agent mode needs sandboxd inside the sandbox, and "${sb.metadata.name}" runs without it`,
      );
    }
    return client;
  }

  /** The order of checks is the seed product's: mode (400), phase (409), then the call's own rules. */
  function requireAgentMode(sb: Sandbox, what: 'configure' | 'invoke' | 'agent/config'): void {
    if ((sb.spec.mode ?? 'code') !== 'agent') {
      throw new PlatformError(
        'WRONG_MODE',
        `sandbox ${sb.metadata.name} is in mode "code" — /${what} is only valid for mode: agent. Use the exec and files APIs for code-mode sandboxes, or create the sandbox from an agent template (e.g. langgraph-agent).`,
      );
    }
  }

  async function persistConfigure(sb: Sandbox, status: AgentConfigureStatus): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await deps.store.get<Sandbox>('Sandbox', {
        namespace: sb.metadata.namespace!,
        name: sb.metadata.name,
      });
      if (!current) return;
      try {
        await deps.store.updateStatus<Sandbox>({
          ...current,
          status: { ...current.status, agentConfigure: status },
        });
        return;
      } catch (err) {
        if (!isPlatformError(err) || err.code !== 'CONFLICT') throw err;
      }
    }
  }

  const configuring = new Map<string, Set<{ ctl: AbortController; done: Promise<void> }>>();

  async function runConfigure(
    sb: Sandbox,
    req: ConfigureRequest,
    files: ConfigureFile[],
    emit: ConfigureEmit,
    signal: AbortSignal,
  ): Promise<void> {
    const started = Date.now();
    const effective = await effectiveOf(sb);
    const template = effective.templateName;
    const ns = sb.metadata.namespace ?? 'default';
    const hash = configureHash(req.installCommand, files);
    const previous = sb.status?.agentConfigure;
    const limits = {
      maxConcurrentInvokes:
        req.maxConcurrentInvokes ??
        previous?.maxConcurrentInvokes ??
        effective.agent.maxConcurrentInvokes ??
        0,
      defaultInvokeTimeoutSeconds: Math.round(
        (req.defaultInvokeTimeout
          ? parseDurationMs(req.defaultInvokeTimeout)!
          : (effective.agent.defaultInvokeTimeoutMs ?? DEFAULT_INVOKE_TIMEOUT_MS)) / 1000,
      ),
    };
    const entrypoint = req.entrypoint ?? previous?.entrypoint ?? [];
    const outcome = (o: string) => {
      deps.metrics.configureRequests.inc({ template, outcome: o });
      deps.metrics.configureDuration.observe({ template, outcome: o }, (Date.now() - started) / 1000);
    };
    const result = async (installExitCode: number, skipped: boolean) => {
      const status: AgentConfigureStatus = {
        lastConfiguredAt: rfc3339(Date.now()),
        installCommandHash: hash,
        entrypoint,
        installExitCode,
        ...limits,
        installCommand: req.installCommand ?? [],
        files: files.map((f) => ({
          path: f.path,
          sizeBytes: f.bytes.length,
          ...(f.mode !== undefined ? { mode: `0${f.mode.toString(8)}` } : {}),
        })),
      };
      if (installExitCode === 0) await persistConfigure(sb, status);
      emit('result', {
        lastConfiguredAt: status.lastConfiguredAt,
        installCommandHash: hash,
        ...(entrypoint.length ? { entrypoint } : {}),
        installExitCode,
        skipped,
      });
    };

    if (previous && previous.installCommandHash === hash && previous.installExitCode === 0) {
      await result(0, true);
      outcome('ok');
      return;
    }

    const plane = await deps.dataPlaneFor(sb);
    for (const f of files) {
      emit('log', { stream: 'stdout', data: `[configure] uploading ${f.path}` });
      try {
        await plane.write(sb, f.path, f.bytes);
        if (f.mode !== undefined) {
          await plane.exec(sb, {
            argv: ['chmod', f.mode.toString(8), f.path],
            timeoutMs: 10_000,
            maxOutputBytes: 4096,
          });
        }
      } catch (err) {
        emit('error', { phase: 'files', message: `writing ${f.path} failed: ${(err as Error).message}` });
        outcome('files_failed');
        return;
      }
    }

    if (!req.installCommand) {
      await result(0, false);
      outcome('ok');
      return;
    }

    const client = clientOf(sb);
    const timeoutMs = req.installTimeout ? parseDurationMs(req.installTimeout)! : DEFAULT_INSTALL_TIMEOUT_MS;
    emit('log', { stream: 'stdout', data: `[configure] running install: ${req.installCommand.join(' ')}` });
    let log = '';
    const line = (stream: 'stdout' | 'stderr') =>
      new LineSplitter((text) => {
        log = (log + text + '\n').slice(-INSTALL_LOG_TAIL_BYTES);
        emit('log', { stream, data: text });
      });
    const out = { stdout: line('stdout'), stderr: line('stderr') };
    let exit: { exitCode: number; timedOut: boolean } | null = null;
    try {
      const proc = await client.startProcess({
        command: req.installCommand,
        cwd: effective.agent.workingDir ?? effective.workingDir,
        timeoutMs,
        killOnDetach: true,
        openStdin: false,
        name: 'agenttier-configure',
      });
      const { id } = processFromDaemon(proc);
      const attachment = await client.attach(id, { killOnDetach: true });
      const onAbort = () => attachment.close();
      signal.addEventListener('abort', onAbort, { once: true });
      let exitEvent: unknown;
      for await (const ev of attachment) {
        if (ev.type === 'output') out[ev.stream].push(ev.data);
        else if (ev.type === 'exit') {
          exitEvent = ev;
          break;
        }
      }
      signal.removeEventListener('abort', onAbort);
      attachment.close();
      await client.removeProcess(id).catch(() => undefined);
      // The exit code becomes the result's installExitCode: parsed (an integer -1..255), never passed on;
      // out of shape, the install "could not run" (RUNTIME_FAILED's message) and nothing is recorded.
      if (exitEvent !== undefined) exit = exitFromDaemon(exitEvent);
    } catch (err) {
      const mapped = fromSandboxdError(err) as Error;
      emit('error', { phase: 'install', message: `install could not run: ${mapped.message}` });
      outcome('install_failed');
      return;
    }
    out.stdout.flush();
    out.stderr.flush();
    await deps.records.putInstallLog(ns, sb.metadata.name, log).catch(() => undefined);
    if (signal.aborted) {
      outcome('canceled');
      return;
    }
    if (!exit) {
      emit('error', { phase: 'install', message: 'lost the connection to the sandbox during install' });
      outcome('install_failed');
      return;
    }
    if (exit.timedOut) {
      emit('error', {
        phase: 'install',
        message: `install timed out after ${formatDurationMs(timeoutMs)}`,
      });
      outcome('install_failed');
      return;
    }
    await result(exit.exitCode, false);
    outcome(exit.exitCode === 0 ? 'ok' : 'install_nonzero');
  }

  return {
    requireAgentMode,

    /** What the last successful configure set (`GET …/agent/config`): env names only, never values. */
    async config(sb: Sandbox): Promise<AgentConfigView> {
      const effective = await effectiveOf(sb);
      const envNames = [...new Set([...effective.env, ...(effective.agent.env ?? [])].map((e) => e.name))];
      envNames.sort();
      const configured = sb.status?.agentConfigure;
      if (!configured) return { configured: false, entrypoint: [], installCommand: [], files: [], envNames };
      const { installCommand, files, ...seedFields } = configured;
      return {
        configured: true,
        ...seedFields,
        installCommand: installCommand ?? [],
        files: files ?? [],
        envNames,
      };
    },

    /**
     * Runs a configure. `emit` streams events; the returned promise resolves after the last one.
     * `signal` aborts (client went away): the install is killed.
     */
    async configure(
      sb: Sandbox,
      req: ConfigureRequest,
      files: ConfigureFile[],
      emit: ConfigureEmit,
      signal: AbortSignal,
    ): Promise<void> {
      // Tracked per sandbox, so deleting the sandbox can abort it and wait before dropping its log.
      const key = `${sb.metadata.namespace ?? 'default'}/${sb.metadata.name}`;
      const ctl = new AbortController();
      let finish!: () => void;
      const entry = { ctl, done: new Promise<void>((r) => (finish = r)) };
      const set = configuring.get(key) ?? new Set();
      configuring.set(key, set.add(entry));
      try {
        await runConfigure(sb, req, files, emit, AbortSignal.any([signal, ctl.signal]));
      } finally {
        set.delete(entry);
        if (!set.size) configuring.delete(key);
        finish();
      }
    },

    /**
     * Checks the invoke rules, reserves a concurrency slot and starts the entrypoint. Throws the
     * pre-stream errors (JSON responses); returns the run once its process is running.
     */
    async invoke(
      sb: Sandbox,
      opts: { stdin: Buffer; prompt?: string; timeoutMs?: number; detached: boolean },
    ): Promise<InvokeRun> {
      const configured = sb.status?.agentConfigure;
      if (!configured?.entrypoint?.length) {
        throw new PlatformError(
          'NOT_CONFIGURED',
          `sandbox ${sb.metadata.name} has no entrypoint — call POST /configure first to set one`,
        );
      }
      const effective = await effectiveOf(sb);
      const template = effective.templateName;
      const uid = sb.metadata.uid ?? sb.metadata.name;
      const limit = configured.maxConcurrentInvokes ?? 0;
      const current = inflight.get(uid) ?? 0;
      if (limit > 0 && current >= limit) {
        deps.metrics.invokeThrottled.inc({ template });
        deps.metrics.invokeRequests.inc({ template, outcome: 'throttled' });
        throw new PlatformError(
          'CONCURRENCY_EXCEEDED',
          `sandbox ${sb.metadata.name} already has ${current} concurrent invokes (max ${limit})`,
          {
            headers: { 'retry-after': String(CONCURRENCY_RETRY_AFTER_SEC) },
            extra: { error: 'concurrency_exceeded', limit, inflight: current },
          },
        );
      }
      inflight.set(uid, current + 1);
      try {
        const client = clientOf(sb);
        const defaultMs = configured.defaultInvokeTimeoutSeconds
          ? configured.defaultInvokeTimeoutSeconds * 1000
          : DEFAULT_INVOKE_TIMEOUT_MS;
        const timeoutMs = Math.min(defaultMs, opts.timeoutMs ?? defaultMs);
        const argv = [
          ...configured.entrypoint,
          ...(opts.prompt !== undefined ? [`--prompt=${opts.prompt}`] : []),
        ];
        const stdin = opts.stdin.length > 0 ? opts.stdin : Buffer.from(opts.prompt ?? '', 'utf8');
        const env = Object.fromEntries((effective.agent.env ?? []).map((e) => [e.name, e.value]));
        const proc = await client
          .startProcess({
            command: argv,
            cwd: effective.agent.workingDir ?? effective.workingDir,
            timeoutMs,
            openStdin: false,
            stdin: stdin.toString('base64'),
            stdinEncoding: 'base64',
            killOnDetach: false,
            name: 'agenttier-invoke',
            ...(Object.keys(env).length ? { env } : {}),
          })
          .catch((err: unknown) => {
            throw fromSandboxdError(err);
          });
        const processId = processFromDaemon(proc).id; // before the record: a 502 leaves none behind
        const record: InvokeRecord = {
          invokeId: `inv-${randomBytes(12).toString('hex')}`,
          namespace: sb.metadata.namespace ?? 'default',
          sandbox: sb.metadata.name,
          sandboxUid: uid,
          template,
          state: 'running',
          detached: opts.detached,
          startedAt: new Date().toISOString(),
          bytesStdout: 0,
          bytesStderr: 0,
          eventCount: 0,
          outputTail: '',
        };
        await deps.records.createInvoke(record);
        const run = new InvokeRun({
          record,
          client,
          processId,
          store: deps.records,
          onFinish: (r) => {
            release(uid);
            runs.delete(r.id);
            const outcomeLabel = r.record.reason ?? 'error';
            deps.metrics.invokeRequests.inc({ template, outcome: outcomeLabel });
            deps.metrics.invokeDuration.observe(
              { template, outcome: outcomeLabel },
              (r.record.durationMs ?? 0) / 1000,
            );
          },
        });
        runs.set(run.id, run);
        await run.start();
        return run;
      } catch (err) {
        release(uid);
        throw err;
      }
    },

    run(invokeId: string): InvokeRun | undefined {
      return runs.get(invokeId);
    },

    async cancel(sb: Sandbox, invokeId: string): Promise<void> {
      const run = runs.get(invokeId);
      const record = run?.record ?? (await deps.records.getInvoke(invokeId));
      if (
        !record ||
        record.namespace !== (sb.metadata.namespace ?? 'default') ||
        record.sandbox !== sb.metadata.name
      ) {
        throw new PlatformError(
          'INVOKE_NOT_FOUND',
          `invoke ${invokeId} not found for sandbox ${sb.metadata.name}`,
        );
      }
      if (!run || !run.isRunning)
        throw new PlatformError(
          'INVOKE_NOT_FOUND',
          `invoke ${invokeId} not in flight (it already ended: ${record.reason ?? 'unknown'})`,
        );
      await run.cancel('canceled');
    },

    /** A deleted sandbox: end its runs, then drop its invoke records and install log. */
    async forgetSandbox(namespace: string, name: string): Promise<void> {
      const mine = [...runs.values()].filter(
        (r) => r.record.namespace === namespace && r.record.sandbox === name,
      );
      await Promise.allSettled(mine.map((r) => r.cancel('canceled')));
      const configures = [...(configuring.get(`${namespace}/${name}`) ?? [])];
      for (const c of configures) c.ctl.abort();
      // Their last events are written when they finish: wait, so nothing is recorded after the delete.
      // Bounded: a run whose sandbox is already gone must not hold up the delete.
      await Promise.race([
        Promise.allSettled([...mine.map((r) => r.finished), ...configures.map((c) => c.done)]),
        new Promise((resolve) => setTimeout(resolve, 10_000).unref()),
      ]);
      await deps.records.deleteSandbox(namespace, name);
    },

    async stopAll(): Promise<void> {
      await Promise.allSettled([...runs.values()].map((r) => r.cancel('error')));
    },
  };
}

export type AgentService = ReturnType<typeof createAgentService>;
