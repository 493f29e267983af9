import type { ReactNode } from 'react';
import { adviseError, type ErrorAdvice } from './error-advice.ts';

/** An error as a person reads it: what happened, then what to do next (and the request id to quote). */
export function ErrorNote({ error, advice }: { error?: unknown; advice?: ErrorAdvice }): ReactNode {
  const a = advice ?? adviseError(error);
  return (
    <p role="alert" className="sbx-error">
      {a.message} <strong>Next:</strong> {a.next}
      {a.requestId ? <span className="muted small"> (request {a.requestId})</span> : null}
    </p>
  );
}
