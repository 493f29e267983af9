import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';

/** Metrics of reference §6.1: per template and outcome, never per user. */
export function createAgentMetrics(registry: Registry) {
  const buckets = (start: number) => Array.from({ length: 12 }, (_, i) => start * 2 ** i);
  return {
    invokeRequests: new Counter({
      name: 'agenttier_invoke_requests_total',
      help: 'Agent invocations by template and outcome',
      labelNames: ['template', 'outcome'] as const,
      registers: [registry],
    }),
    invokeDuration: new Histogram({
      name: 'agenttier_invoke_duration_seconds',
      help: 'Agent invocation duration by template and outcome',
      labelNames: ['template', 'outcome'] as const,
      buckets: buckets(0.5),
      registers: [registry],
    }),
    invokeThrottled: new Counter({
      name: 'agenttier_invoke_throttled_total',
      help: 'Invocations refused with 429 because the sandbox was at its concurrency cap',
      labelNames: ['template'] as const,
      registers: [registry],
    }),
    configureRequests: new Counter({
      name: 'agenttier_configure_requests_total',
      help: 'Configure calls by template and outcome',
      labelNames: ['template', 'outcome'] as const,
      registers: [registry],
    }),
    configureDuration: new Histogram({
      name: 'agenttier_configure_duration_seconds',
      help: 'Configure call duration by template and outcome',
      labelNames: ['template', 'outcome'] as const,
      buckets: buckets(0.1),
      registers: [registry],
    }),
  };
}

export type AgentMetrics = ReturnType<typeof createAgentMetrics>;
