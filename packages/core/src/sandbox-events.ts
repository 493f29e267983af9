import type { Sandbox, SandboxEvent, SandboxEventType } from '@agenttier/contract';
import { MAX_EVENT_MESSAGE_CHARS } from '@agenttier/contract';

/** One thing that happened to a sandbox, before it is stored (and merged with its repeats). */
export interface SandboxEventInput {
  type: SandboxEventType;
  reason: string;
  message: string;
}

/** Where a platform keeps the events feed (`GET …/events`): SQLite locally, core/v1 Events on Kubernetes. */
export interface SandboxEventFeed {
  /** The events about this sandbox (this uid: not an earlier one of the same name), oldest first. */
  list(sandbox: Sandbox): Promise<SandboxEvent[]>;
}

/** What `redactedMessage` writes instead of a value it must not show. */
export const REDACTED = '[redacted]';
/** Values shorter than this are not redacted: `1`, `on` or `dev` would blank out ordinary words. */
const MIN_SECRET_CHARS = 6;

/**
 * A quoted `"NAME=value"` environment entry, as runc quotes the one it refuses (`environment variable
 * value can't contain null(\x00): "TOKEN=…"`); Go-escaped quotes inside the value are part of it.
 */
const QUOTED_ENV_ENTRY = /"([A-Za-z_][A-Za-z0-9_]*)=(?:[^"\\]|\\.)*"/g;

/**
 * `message` without the values it must not show, for anyone who may read the sandbox but not its env
 * (viewers): each `env` value of the sandbox is replaced wherever it appears (an engine error quoting a
 * container's config), and so is the value of any quoted `"NAME=value"` entry, which is how runc quotes
 * a variable it refuses, a secret's included (secret values are not in `spec.env`, and runc escapes them).
 */
export function redactedText(sandbox: Sandbox, message: string): string {
  let out = message.replace(QUOTED_ENV_ENTRY, (_entry, name: string) => `"${name}=${REDACTED}"`);
  const values = (sandbox.spec.env ?? [])
    .map((e) => e.value ?? '')
    .filter((v) => v.length >= MIN_SECRET_CHARS)
    .sort((a, b) => b.length - a.length);
  for (const v of values) out = out.split(v).join(REDACTED);
  return out;
}

/**
 * The message as an event may carry it: redactedText, cut to MAX_EVENT_MESSAGE_CHARS. Events are
 * readable by viewers, who may not read env.
 */
export function redactedMessage(sandbox: Sandbox, message: string): string {
  const out = redactedText(sandbox, message);
  return out.length > MAX_EVENT_MESSAGE_CHARS ? `${out.slice(0, MAX_EVENT_MESSAGE_CHARS - 1)}…` : out;
}

/**
 * The event of a phase change, with the seed product's reasons (reference §2.14) so dashboards and
 * webhook mappings built for it keep working: Creating, Running, Stopped, IdleTimeout,
 * MaxRuntimeReached, Restarting, Error, Deleting.
 */
export function transitionEvent(
  sandbox: Sandbox,
  from: string | undefined,
  to: string,
  message: string,
): SandboxEventInput {
  const why = sandbox.status?.reason;
  const text = redactedMessage(sandbox, message || `${from ?? 'new'} → ${to}`);
  switch (to) {
    case 'Creating':
      if (why === 'Restarting') return { reason: 'Restarting', type: 'Warning', message: text };
      return { reason: 'Creating', type: 'Normal', message: why === 'Resuming' ? 'Resuming' : text };
    case 'Running':
      return {
        reason: 'Running',
        type: 'Normal',
        message: message ? text : 'Sandbox is ready',
      };
    case 'Stopped':
      if (why === 'IdleTimeout') return { reason: 'IdleTimeout', type: 'Normal', message: text };
      if (why === 'MaxRuntimeExceeded') return { reason: 'MaxRuntimeReached', type: 'Normal', message: text };
      return { reason: 'Stopped', type: 'Normal', message: text };
    case 'Error':
      return { reason: 'Error', type: 'Warning', message: text };
    default:
      return { reason: to, type: 'Normal', message: text };
  }
}

/** A failed reconcile that will be retried: one `BackOff` Warning, repeated (counted) while it keeps failing. */
export function backOffEvent(sandbox: Sandbox, error: string): SandboxEventInput {
  return {
    type: 'Warning',
    reason: 'BackOff',
    message: redactedMessage(sandbox, `${error}; retrying with back-off`),
  };
}

/**
 * The event of a change a pass made to the sandbox's children (Kubernetes names for the same steps of
 * a Pod): undefined when nothing changed. Runtime-neutral words: a workload is a container locally
 * and a Pod on Kubernetes.
 */
export function childEvent(
  action: 'ensureVolume' | 'ensureWorkload' | 'removeWorkload' | 'removeVolume',
  outcome: string,
  deleting = false,
): SandboxEventInput | undefined {
  if (outcome === 'unchanged') return undefined;
  switch (action) {
    case 'ensureVolume':
      return { type: 'Normal', reason: 'Provisioned', message: 'Workspace volume created' };
    case 'ensureWorkload':
      return outcome === 'started'
        ? { type: 'Normal', reason: 'Started', message: 'Existing workload started again' }
        : { type: 'Normal', reason: 'Created', message: 'Workload created and starting' };
    case 'removeWorkload':
      return {
        type: 'Normal',
        reason: 'Removed',
        message: deleting ? 'Workload removed' : 'Workload removed (the workspace is kept)',
      };
    case 'removeVolume':
      return { type: 'Normal', reason: 'Deleted', message: 'Workspace volume deleted' };
  }
}

/**
 * Consecutive entries with the same type, reason and message as one, counts summed and the first and
 * last time kept (Kubernetes' own aggregation, for recorders that write one Event per occurrence).
 */
export function mergeRepeats(events: readonly SandboxEvent[]): SandboxEvent[] {
  const out: SandboxEvent[] = [];
  for (const e of events) {
    const prev = out.at(-1);
    if (prev && prev.type === e.type && prev.reason === e.reason && prev.message === e.message) {
      out[out.length - 1] = {
        ...prev,
        count: prev.count + e.count,
        firstTimestamp: prev.firstTimestamp < e.firstTimestamp ? prev.firstTimestamp : e.firstTimestamp,
        lastTimestamp: prev.lastTimestamp > e.lastTimestamp ? prev.lastTimestamp : e.lastTimestamp,
      };
    } else out.push({ ...e });
  }
  return out;
}
