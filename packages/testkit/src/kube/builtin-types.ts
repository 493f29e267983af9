// The built-in kinds the AgentTier operator touches, with the slice of each kind's server-side
// behaviour (defaults, status reset, immutability, field selectors, printers) that an operator can
// observe. Anything not listed here is not served.
import { ageColumn, nameColumn } from './builtin-factory.ts';
import { configmaps, namespaces, pvcs, secrets, serviceaccounts, services } from './builtin-core.ts';
import { coreEvents, eventsV1 } from './builtin-events.ts';
import { deployments, ingresses, leases, networkpolicies, rbac, runtimeclasses } from './builtin-groups.ts';
import { pods } from './builtin-pods.ts';
import type { ResourceType } from './resource-type.ts';

export function builtinTypes(): ResourceType[] {
  return [
    namespaces,
    pods,
    services,
    pvcs,
    secrets,
    configmaps,
    serviceaccounts,
    coreEvents,
    eventsV1,
    deployments,
    networkpolicies,
    ingresses,
    leases,
    runtimeclasses,
    rbac('Role', 'roles', true),
    rbac('RoleBinding', 'rolebindings', true),
    rbac('ClusterRole', 'clusterroles', false),
    rbac('ClusterRoleBinding', 'clusterrolebindings', false),
  ];
}

export const builtinColumns = { nameColumn, ageColumn };
