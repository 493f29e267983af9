import type { TemplateSpec } from './resources.ts';

/**
 * Response bodies of the REST API that are not resources: declared once here; the server produces
 * them, the SDK re-exports these types.
 */

export type InvokeReason = 'completed' | 'canceled' | 'timeout' | 'error';

/** A template as `GET /templates` and `GET /templates/{name}` show it. */
export interface TemplateView {
  name: string;
  kind: 'ClusterSandboxTemplate' | 'SandboxTemplate';
  namespace?: string;
  description: string;
  image: string;
  mode: string;
  resourceVersion: string;
  createdAt: string;
  labels: Record<string, string>;
  spec: TemplateSpec;
}

/** `GET /api/v1/auth/methods`: what a login page (and `agenttier login`) may offer. */
export interface AuthMethods {
  /** API-key login into a session cookie (`startSession`). */
  apiKey: boolean;
  /** OpenID Connect login (authorization code + PKCE) in the browser. */
  oidc: boolean;
  /** Where to send the browser for OIDC login; add `?returnTo=/path`. */
  oidcLoginUrl?: string;
  /** What `agenttier login --oidc` needs: the provider and its public client for the CLI. */
  oidcCli?: { issuer: string; clientId: string; scopes?: string[] };
}

/** `POST …/ports/{port}/preview-link`: a single-use link that opens a preview in a browser. */
export interface PreviewLink {
  /** Open this (once, within `expiresAt`): the preview origin swaps it for a session cookie. */
  url: string;
  /** ISO time after which the link is refused. */
  expiresAt: string;
  /** The preview's origin URL (what the browser ends up on, with the link's path). */
  previewUrl: string;
}

/** A forwarded port of a sandbox (`GET …/ports`), reachable through the preview proxy. */
export interface PortView {
  port: number;
  protocol: 'http' | 'tcp';
  /**
   * The preview URL (HTTP and WebSocket) on the port's own origin, as the server builds it. Servers
   * before the escaped host form (names with `--`) answered null for such names.
   */
  previewUrl: string | null;
  /** The address inside the sandbox. */
  internalUrl: string;
  /** The name the port was forwarded with (`forward(8000, {name: 'web'})`), if any. */
  name?: string;
  /** Whether something listens on the port right now (only when the sandbox is Running). */
  listening?: boolean;
}

/** The durable record of one agent invocation (`GET …/invokes`). Argv and stdin are never stored. */
export interface InvokeRecord {
  invokeId: string;
  namespace: string;
  sandbox: string;
  sandboxUid: string;
  template: string;
  state: 'running' | 'finished';
  detached: boolean;
  startedAt: string;
  finishedAt?: string;
  exitCode?: number;
  reason?: InvokeReason;
  message?: string;
  durationMs?: number;
  bytesStdout: number;
  bytesStderr: number;
  /** Events recorded for replay (ids 1..eventCount). */
  eventCount: number;
  /** The last part of the output (stdout and stderr interleaved), for audits and listings. */
  outputTail: string;
}

/** A process started by exec or in the background (`GET …/processes`), as sandboxd reports it. */
export interface ProcessInfo {
  id: string;
  /** Free-form label shown in listings. */
  name: string | null;
  kind: 'exec' | 'background' | 'onstart';
  pid: number | null;
  command: string[];
  cwd: string;
  state: 'running' | 'exited';
  startedAt: string;
  finishedAt: string | null;
  /** 128+n when killed by signal n, -1 when its timeout fired. */
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number | null;
  killOnDetach: boolean;
  stdinOpen: boolean;
  attachments: number;
  /** Bytes of stdout+stderr produced so far: the offset the next chunk will have. */
  outputBytes: number;
  /** The oldest offset still replayable. */
  bufferStartOffset: number;
}

/**
 * One audited call (`GET /api/v1/audit/events`): who did what to which target, and the answer's
 * status. Never bodies or secrets.
 */
export interface AuditEvent {
  /** Increasing id (the paging cursor): pass the last one of a page as `before` for the next. */
  id: number;
  /** RFC 3339. */
  at: string;
  /** The user; absent when authentication failed. */
  actor?: string;
  /** The API key used (its public id). */
  keyId?: string;
  /** Method and route template, not the raw URL: `POST /api/v1/sandboxes/:id/exec`. */
  action: string;
  /** `sandbox:namespace/name`, `apikey:key_…`, `template:name`, or absent. */
  target?: string;
  /** What else the action needs to be read right, e.g. a terminal attach's mode (`read-only`, `read-write`). */
  detail?: string;
  status: number;
  requestId: string;
  source: string;
}

/** `GET /api/v1/audit/events`: one page, newest first. */
export interface AuditEventPage {
  events: AuditEvent[];
  /** Present when there may be more: the `before` of the next page. */
  next?: number;
}

// Terminal WebSocket frames (`/ws/terminal/{id}`, docs/api.md): JSON text frames both ways.

/** Client→server terminal frames (reference §4.6). */
export type TerminalClientFrame =
  { type: 'input'; data: string } | { type: 'resize'; cols: number; rows: number } | { type: 'ping' };

export type TerminalCloseReason =
  | 'session_ended'
  | 'session_killed'
  | 'sandbox_stopped'
  | 'sandbox_deleted'
  | 'idle_timeout'
  | 'session_expired'
  | 'access_revoked'
  | 'error';

/** Server→client terminal frames (reference §4.6). */
export type TerminalServerFrame =
  | { type: 'output'; stream: 'stdout'; data: string }
  | { type: 'heartbeat'; ts: number }
  | { type: 'pong' }
  | { type: 'error'; message: string }
  | {
      type: 'close';
      reason: TerminalCloseReason;
      message?: string;
      exitCode?: number | null;
      signal?: string | null;
    };
