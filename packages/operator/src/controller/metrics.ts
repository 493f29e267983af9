import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Sandbox } from '@agenttier/contract';
import { PHASES } from '@agenttier/contract';
import type { Store } from '@agenttier/core';

export interface ControllerMetrics {
  registry: Registry;
  transitions: Counter<'to' | 'reason'>;
  leader: Gauge;
}

/** Prometheus metrics of the controller process (its own registry: tests start several). */
export function createControllerMetrics(store: Store): ControllerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const transitions = new Counter({
    name: 'agenttier_sandbox_transitions_total',
    help: 'Sandbox phase transitions, by the phase entered and the Event reason',
    labelNames: ['to', 'reason'] as const,
    registers: [registry],
  });
  const leader = new Gauge({
    name: 'agenttier_controller_leader',
    help: '1 while this replica holds the leader lease',
    registers: [registry],
  });
  new Gauge({
    name: 'agenttier_sandboxes',
    help: 'Sandboxes by phase (from the informer cache)',
    labelNames: ['phase'] as const,
    registers: [registry],
    async collect() {
      const counts = new Map<string, number>(PHASES.map((p) => [p, 0]));
      for (const sb of await store.list<Sandbox>('Sandbox')) {
        const phase = sb.status?.phase ?? 'Creating';
        counts.set(phase, (counts.get(phase) ?? 0) + 1);
      }
      for (const [phase, n] of counts) this.set({ phase }, n);
    },
  });
  return { registry, transitions, leader };
}
