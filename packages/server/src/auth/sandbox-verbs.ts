import type { SandboxAccessLevel, ScopedKeyVerb } from '@agenttier/contract';

/**
 * What a route does to the sandbox it names. Each sandbox route declares one (access-rules.ts); roles
 * and scoped keys are sets of these.
 */
export const SANDBOX_VERBS = [
  'read', // status
  'logs', // install log, invoke records and streams
  'files-read',
  'files-write',
  'exec', // commands and background processes
  'invoke', // agent configure and invoke
  'terminal', // a terminal, read-write: typing, resizing, starting a session
  'terminal-view', // watching a terminal session someone else opened: output and replay, no input
  'ports', // port forwards, previews, TCP tunnels
  'lifecycle', // stop and resume
  'manage', // change (PATCH) and delete
  'share',
] as const;
export type SandboxVerb = (typeof SANDBOX_VERBS)[number];

const VIEWER: readonly SandboxVerb[] = ['read', 'logs', 'files-read', 'terminal-view'];
const OPERATOR: readonly SandboxVerb[] = [
  ...VIEWER,
  'files-write',
  'exec',
  'invoke',
  'terminal',
  'ports',
  'lifecycle',
];

/** Verbs of each access level: owners and admins everything; operators all but manage and share. */
export const LEVEL_VERBS: Readonly<Record<SandboxAccessLevel, readonly SandboxVerb[]>> = {
  admin: SANDBOX_VERBS,
  owner: SANDBOX_VERBS,
  operator: OPERATOR,
  viewer: VIEWER,
};

/** Route verbs a scoped key's verb grants. `manage` and `share` are never grantable to a key. */
export const KEY_VERB_GRANTS: Readonly<Record<ScopedKeyVerb, readonly SandboxVerb[]>> = {
  read: ['read'],
  logs: ['logs'],
  'files-read': ['files-read'],
  files: ['files-read', 'files-write'],
  exec: ['exec'],
  invoke: ['invoke', 'logs'],
  terminal: ['terminal', 'terminal-view'],
  ports: ['ports'],
  lifecycle: ['lifecycle'],
};

export function levelAllows(level: SandboxAccessLevel, verb: SandboxVerb): boolean {
  return LEVEL_VERBS[level].includes(verb);
}

/** Whether scoped-key verbs (as stored on the key) grant a route verb; unknown stored verbs grant nothing. */
export function keyVerbsAllow(keyVerbs: readonly string[], verb: SandboxVerb): boolean {
  return keyVerbs.some(
    (k) => Object.hasOwn(KEY_VERB_GRANTS, k) && KEY_VERB_GRANTS[k as ScopedKeyVerb].includes(verb),
  );
}
