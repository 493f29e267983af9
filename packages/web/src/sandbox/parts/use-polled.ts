import { useQuery } from '@tanstack/react-query';

/** A list a tab keeps fresh by re-reading it every `intervalMs` (no retries: the next poll is one). */
export function usePolled<T>(
  queryKey: readonly unknown[],
  read: (signal: AbortSignal) => Promise<T>,
  intervalMs: number,
) {
  return useQuery({
    queryKey,
    queryFn: ({ signal }) => read(signal),
    refetchInterval: intervalMs,
    retry: false,
  });
}
