/**
 * One budget for the bytes of sandbox answers the router holds at once, across every call.
 *
 * Each answer is capped on its own (client-body.ts), but the caps multiply with concurrency: six
 * execs printing NUL bytes (escaped as `\u0000`, six bytes each) made the router hold 1.25 GB, and
 * the per-client cap allows 256 at once. Calls charge what they buffer here while they read and
 * parse; a call that would go past the budget while others hold bytes ends at once with
 * `resource_exhausted` (503 with Retry-After at the API) instead of growing the router. A call alone
 * always fits (its own cap bounds it).
 */
import { SandboxdError } from './errors.ts';

export class AnswerBudget {
  #usedBytes = 0;

  constructor(readonly maxBytes: number) {}

  get usedBytes(): number {
    return this.#usedBytes;
  }

  /** A lease for one call: charge as bytes arrive, release once (idempotent) when they are gone. */
  lease(what: string): AnswerLease {
    let held = 0;
    return {
      charge: (bytes: number) => {
        // Only what other calls hold can refuse a call: one answer, however large, always fits.
        if (this.#usedBytes > held && this.#usedBytes + bytes > this.maxBytes) {
          throw new SandboxdError(
            'resource_exhausted',
            `the router already holds ${mib(this.#usedBytes)} of sandbox answers (budget ${mib(this.maxBytes)}); ` +
              `retry ${what} shortly, or stream large output (exec/stream)`,
            { details: { budgetBytes: this.maxBytes } },
          );
        }
        this.#usedBytes += bytes;
        held += bytes;
      },
      release: () => {
        this.#usedBytes -= held;
        held = 0;
      },
    };
  }
}

export interface AnswerLease {
  /** Throws `resource_exhausted` (nothing charged) when the bytes do not fit. */
  charge(bytes: number): void;
  release(): void;
}

const mib = (bytes: number) => `${Math.round(bytes / (1024 * 1024))} MiB`;

/** The router process's budget: `AGENTTIER_ANSWER_BUDGET_BYTES`, default 128 MiB. */
export const ROUTER_ANSWER_BUDGET = new AnswerBudget(
  budgetFromEnv(process.env.AGENTTIER_ANSWER_BUDGET_BYTES),
);

function budgetFromEnv(raw: string | undefined): number {
  const n = Number(raw);
  return raw && Number.isSafeInteger(n) && n > 0 ? n : 128 * 1024 * 1024;
}
