import type { SandboxView } from '@agenttier/sdk';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { UseQueryResult } from '@tanstack/react-query';
import { useClient } from '../auth/session.tsx';

/**
 * How often live lists are re-read. The API has no watch or event stream for sandboxes (docs/api.md),
 * so the dashboard polls: a change shows within this interval, including sandboxes created or
 * deleted by the CLI, the SDK or another browser. One small GET per second per open tab.
 */
export const LIVE_POLL_MS = 1000;

export function useSandboxes(): UseQueryResult<SandboxView[]> {
  const client = useClient();
  return useQuery({
    queryKey: ['sandboxes'],
    queryFn: async ({ signal }) => (await client.listSandboxes({ signal })).map((s) => s.info),
    refetchInterval: LIVE_POLL_MS,
    refetchIntervalInBackground: false,
  });
}

export function useSandbox(namespace: string, name: string): UseQueryResult<SandboxView> {
  const client = useClient();
  return useQuery({
    queryKey: ['sandbox', namespace, name],
    queryFn: async ({ signal }) => (await client.getSandbox(name, { namespace, signal })).info,
    refetchInterval: LIVE_POLL_MS,
    retry: false,
  });
}

export type SandboxAction = 'stop' | 'resume' | 'delete';

/** Stop, resume or delete one sandbox; the lists refresh at once afterwards. */
export function useSandboxAction() {
  const client = useClient();
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async ({
      action,
      sandbox,
    }: {
      action: SandboxAction;
      sandbox: Pick<SandboxView, 'namespace' | 'name'>;
    }) => {
      const handle = client.sandbox(sandbox.name, { namespace: sandbox.namespace });
      if (action === 'stop') await handle.stop();
      else if (action === 'resume') await handle.resume();
      else await handle.delete();
    },
    onSettled: () => qc.invalidateQueries({ queryKey: ['sandboxes'] }),
  });
}

export function useTemplates() {
  const client = useClient();
  return useQuery({
    queryKey: ['templates'],
    queryFn: () => client.templates.list(),
  });
}
