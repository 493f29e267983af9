import type { SandboxView } from '@agenttier/sdk';
import type { ReactNode } from 'react';
import { useSandboxAction } from '../api/queries.ts';
import { ErrorNote } from './ErrorNote.tsx';

/**
 * What a tab that needs a running sandbox shows otherwise: the phase, why, and the way out (Resume),
 * or progress while it is on its way.
 */
export function NotRunning({ sandbox, what }: { sandbox: SandboxView; what: string }): ReactNode {
  const action = useSandboxAction();
  const phase = sandbox.phase;
  if (phase === 'Creating' || (phase === 'Stopped' && sandbox.desiredState === 'Running')) {
    return (
      <p role="status" className="sbx-wait">
        <span className="sbx-spinner" aria-hidden="true" /> The sandbox is starting ({sandbox.reason ?? phase}
        ); {what} opens when it is running.
      </p>
    );
  }
  if (phase === 'Deleting') return <p role="status">The sandbox is being deleted.</p>;
  return (
    <div className="stack">
      <p role="status">
        The sandbox is {phase}
        {sandbox.message ? `: ${sandbox.message}` : ''}. Resume it to use {what}; the workspace was kept.
      </p>
      <div>
        <button
          type="button"
          className="primary"
          disabled={action.isPending}
          onClick={() => action.mutate({ action: 'resume', sandbox })}
        >
          {action.isPending ? 'Resuming…' : 'Resume sandbox'}
        </button>
      </div>
      {action.isError ? <ErrorNote error={action.error} /> : null}
    </div>
  );
}

export function isRunning(s: SandboxView): boolean {
  return s.phase === 'Running' && s.desiredState !== 'Stopped';
}
