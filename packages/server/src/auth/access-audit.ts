import type { AuditEvent, AuditLog } from '@agenttier/core';
import type { Identity } from '../context.ts';

/**
 * One access that is not a plain API request: a WebSocket attach or a preview. `action` is
 * `WS /ws/terminal/:id`, `WS /ws/tcp/:id/:port`, `WS preview` or `PREVIEW`; `target` is `sandbox:ns/name`
 * (and `:port` for previews); `detail` a terminal attach's mode (`read-only` for viewers, `read-write`);
 * `status` 101 for an attached WebSocket, 200 for a preview let through, else the refusal's status.
 */
export interface AccessAuditEntry extends Pick<
  AuditEvent,
  'action' | 'target' | 'detail' | 'status' | 'requestId' | 'source'
> {
  who?: Identity;
}

export interface AccessAudit {
  /** Records a WebSocket attach (or its refusal), every time. */
  attach(e: AccessAuditEntry): void;
  /**
   * Records a preview access at most once per window for the same caller (or address), target and
   * status: a page load is dozens of requests, one session start is what the trail needs.
   */
  preview(e: AccessAuditEntry): void;
}

export interface AccessAuditOpts {
  /** @default 10 minutes */
  previewWindowMs?: number;
  /** Preview keys remembered (oldest forgotten first: memory stays bounded). @default 10000 */
  maxPreviewKeys?: number;
  nowMs?: () => number;
  onError?: (err: unknown) => void;
}

export function createAccessAudit(log: AuditLog, opts: AccessAuditOpts = {}): AccessAudit {
  const now = opts.nowMs ?? Date.now;
  const windowMs = opts.previewWindowMs ?? 10 * 60_000;
  const maxKeys = Math.max(1, opts.maxPreviewKeys ?? 10_000);
  const lastSeen = new Map<string, number>();
  const write = (e: AccessAuditEntry) => {
    void log
      .record({
        at: new Date(now()).toISOString(),
        ...(e.who ? { actor: e.who.sub } : {}),
        ...(e.who?.keyId ? { keyId: e.who.keyId } : {}),
        action: e.action,
        ...(e.target ? { target: e.target.slice(0, 300) } : {}),
        ...(e.detail ? { detail: e.detail } : {}),
        status: e.status,
        requestId: e.requestId,
        source: e.source,
      })
      .catch((err: unknown) => opts.onError?.(err));
  };
  return {
    attach: write,
    preview(e) {
      const key = `${e.who ? `u:${e.who.sub}` : `a:${e.source}`}|${e.target ?? ''}|${e.status}`;
      const at = lastSeen.get(key);
      if (at !== undefined && now() - at < windowMs) return;
      lastSeen.delete(key);
      if (lastSeen.size >= maxKeys) lastSeen.delete(lastSeen.keys().next().value!);
      lastSeen.set(key, now());
      write(e);
    },
  };
}
