import type { UseQueryResult } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { ErrorNote } from '../ErrorNote.tsx';
import { Waiting } from './form-parts.tsx';

/**
 * The three states every list in a tab goes through before it shows rows: loading (with what is
 * loading), the error in words with what to do, and empty (with the first step); else `children`.
 */
export function QueryState<T>(props: {
  query: UseQueryResult<T>;
  loading: string;
  isEmpty: (data: T) => boolean;
  empty: ReactNode;
  children: (data: T) => ReactNode;
}): ReactNode {
  const q = props.query;
  if (q.isPending) return <Waiting>{props.loading}</Waiting>;
  if (q.isError) return <ErrorNote error={q.error} />;
  if (props.isEmpty(q.data)) return <p className="muted">{props.empty}</p>;
  return props.children(q.data);
}
