import type { Sandbox } from '@agenttier/contract';
import type { Identity } from '../context.ts';

/** The owner of a sandbox: who created it through the router (spec.createdBy, never caller-settable). */
export function ownerOf(sb: Sandbox): string | undefined {
  return sb.spec.createdBy?.sub;
}

/** Owners and admins act on a sandbox; a sandbox without a recorded owner is the admins' alone. */
export function mayActOn(who: Identity, sb: Sandbox): boolean {
  return who.isAdmin || (ownerOf(sb) !== undefined && ownerOf(sb) === who.sub);
}
