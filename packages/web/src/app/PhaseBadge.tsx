import type { ReactNode } from 'react';

/** A sandbox phase as text and colour (the text alone carries the meaning). */
export function PhaseBadge({ phase, reason }: { phase: string; reason?: string | undefined }): ReactNode {
  return (
    <span className={`phase phase-${phase.toLowerCase()}`} title={reason ? `reason: ${reason}` : undefined}>
      {phase}
    </span>
  );
}
