import type { UseQueryResult } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { describeError } from './errors.ts';

/** "Loading …" while a query runs, "Could not load …: why" when it failed, else nothing. */
export function LoadNote({ query, what }: { query: UseQueryResult<unknown>; what: string }): ReactNode {
  if (query.isPending) return <p role="status">Loading {what}…</p>;
  if (query.isError)
    return (
      <p role="alert" className="error">
        Could not load {what}: {describeError(query.error)}
      </p>
    );
  return null;
}
