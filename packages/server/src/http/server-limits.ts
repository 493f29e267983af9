import type { ConnectionGuardOpts } from './connection-guard.ts';

/**
 * Timeouts and connection limits of the router's HTTP server, set deliberately (Node's and Fastify's
 * defaults let a request take forever to arrive).
 */
export interface ServerLimitsOpts extends ConnectionGuardOpts {
  /** Time a client has to send the complete request headers. @default 10000 */
  headersTimeoutMs?: number;
  /**
   * Time a client has to send the complete request, body included (a 32 MiB upload on a slow link
   * fits). Responses are not limited: exec, SSE and WebSockets run as long as they need.
   * @default 120000
   */
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open. @default 5000 */
  keepAliveTimeoutMs?: number;
  /** How often Node checks the two request timeouts (their granularity). @default 1000 */
  timeoutCheckIntervalMs?: number;
}

export const SERVER_LIMIT_DEFAULTS = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 120_000,
  keepAliveTimeoutMs: 5_000,
  timeoutCheckIntervalMs: 1_000,
  /** Request headers above this answer 431 (Node's default). */
  maxHeaderBytes: 16 * 1024,
} as const;
