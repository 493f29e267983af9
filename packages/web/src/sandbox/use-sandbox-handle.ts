import type { Sandbox, SandboxView } from '@agenttier/sdk';
import { useMemo } from 'react';
import { useClient } from '../auth/session.tsx';

/** The SDK handle for the sandbox a tab shows (no request: it only names the sandbox). */
export function useSandboxHandle(view: Pick<SandboxView, 'name' | 'namespace'>): Sandbox {
  const client = useClient();
  return useMemo(
    () => client.sandbox(view.name, { namespace: view.namespace }),
    [client, view.name, view.namespace],
  );
}

/** Query keys of the tabs, in one place so invalidations match. */
export const sbxKeys = {
  dir: (ns: string, name: string, dir: string) => ['sbx', ns, name, 'dir', dir] as const,
  dirs: (ns: string, name: string) => ['sbx', ns, name, 'dir'] as const,
  processes: (ns: string, name: string) => ['sbx', ns, name, 'processes'] as const,
  ports: (ns: string, name: string) => ['sbx', ns, name, 'ports'] as const,
  invokes: (ns: string, name: string) => ['sbx', ns, name, 'invokes'] as const,
};
