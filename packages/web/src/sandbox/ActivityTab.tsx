import type { ReactNode } from 'react';
import { AuditTable } from '../activity/ActivityPage.tsx';
import type { SandboxTabProps } from './tabs.ts';

/** This sandbox's events from the audit trail (target `sandbox:namespace/name`). */
export default function ActivityTab({ sandbox }: SandboxTabProps): ReactNode {
  return <AuditTable target={`sandbox:${sandbox.namespace}/${sandbox.name}`} />;
}
