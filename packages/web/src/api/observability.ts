import type { SandboxEvent, SandboxUsage } from '@agenttier/sdk';
import { useQuery } from '@tanstack/react-query';
import type { UseQueryResult } from '@tanstack/react-query';
import { useClient } from '../auth/session.tsx';

/**
 * How often a visible running sandbox's usage is re-read. The router measures at most once a second
 * per sandbox whoever asks, so this is about the page's own traffic: one small GET per visible row.
 */
export const USAGE_POLL_MS = 3000;
/** How often an open Events tab re-reads the feed (the API has no stream of it). */
export const EVENTS_POLL_MS = 2000;

/** Usage of one sandbox while `enabled` (running and on screen); nothing is asked otherwise. */
export function useSandboxUsage(
  namespace: string,
  name: string,
  enabled: boolean,
): UseQueryResult<SandboxUsage> {
  const client = useClient();
  return useQuery({
    queryKey: ['usage', namespace, name],
    queryFn: ({ signal }) => client.sandbox(name, { namespace }).usage({ signal }),
    enabled,
    refetchInterval: enabled ? USAGE_POLL_MS : false,
    refetchIntervalInBackground: false,
    retry: false,
  });
}

export function useSandboxEvents(namespace: string, name: string): UseQueryResult<SandboxEvent[]> {
  const client = useClient();
  return useQuery({
    queryKey: ['events', namespace, name],
    queryFn: ({ signal }) => client.sandbox(name, { namespace }).events({ signal }),
    refetchInterval: EVENTS_POLL_MS,
    refetchIntervalInBackground: false,
  });
}
