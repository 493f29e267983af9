import type { Sandbox, SandboxAccessLevel } from '@agenttier/contract';
import type { Identity } from '../context.ts';

/** The owner of a sandbox: who created it through the router (spec.createdBy, never caller-settable). */
export function ownerOf(sb: Sandbox): string | undefined {
  return sb.spec.createdBy?.sub;
}

/**
 * How `who` (the user behind the credential, before any key scope) may act on a sandbox: admins and
 * the owner fully, users it was shared with in their role. A sandbox without a recorded owner is the
 * admins' alone. Undefined: not at all (the caller gets the missing-sandbox 404).
 */
export function accessOf(who: Identity, sb: Sandbox): SandboxAccessLevel | undefined {
  if (who.isAdmin) return 'admin';
  const owner = ownerOf(sb);
  if (owner !== undefined && owner === who.sub) return 'owner';
  if (owner === undefined) return undefined;
  return sb.spec.sharedWith?.find((s) => s.sub === who.sub)?.role;
}

/** Whether `who` sees the sandbox at all (lists): any access level, and a scoped key only its sandbox. */
export function maySee(who: Identity, sb: Sandbox): boolean {
  if (who.scope && !inScope(who, sb)) return false;
  return accessOf(who, sb) !== undefined;
}

/** A scoped key's sandbox is this one: same namespace and name, and the same object when pinned by uid. */
export function inScope(who: Identity, sb: Sandbox): boolean {
  const s = who.scope;
  if (!s) return true;
  return (
    s.namespace === (sb.metadata.namespace ?? 'default') &&
    s.sandbox === sb.metadata.name &&
    (s.uid === undefined || s.uid === sb.metadata.uid)
  );
}
