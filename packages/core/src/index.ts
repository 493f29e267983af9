export { silentLogger } from './ports.ts';
export type {
  AgentRecordStore,
  ApiKeyRecord,
  ApiKeyScope,
  ApiKeyStore,
  ArchiveLimits,
  AuditEvent,
  AuditLog,
  AuditQuery,
  ChildOutcome,
  DataPlane,
  ExecOutcome,
  ExecSpec,
  FileInfo,
  InvokeReason,
  InvokeRecord,
  ListOptions,
  Logger,
  ObjectKey,
  ObservedSandbox,
  ObservedWorkload,
  OwnedChild,
  Principal,
  RecordedEvent,
  Runtime,
  Store,
  WatchEvent,
  WorkloadState,
} from './ports.ts';
export {
  mergeSandboxWithTemplate,
  mergeTemplateChain,
  resolveEffectiveSandbox,
  resolveTemplateChain,
} from './template-merge.ts';
export type { EffectiveSandbox, TemplateLookup } from './template-merge.ts';
export { credentialEnv, credentialEnvNameOk, credentialProblems } from './credentials.ts';
export type { SecretMeta, SecretStore } from './secret-store.ts';
export { TerminalError } from './reconcile-result.ts';
export { templateLookup } from './sandbox-reconciler.ts';
export { createController } from './controller.ts';
export type { Controller } from './controller.ts';
export { BUILTIN_TEMPLATES, IMAGE_TAG } from './builtin-templates.ts';
export { volumeName, workloadName } from './names.ts';
export { mergeRepeats, redactedText, transitionEvent } from './sandbox-events.ts';
export type { SandboxEventFeed, SandboxEventInput } from './sandbox-events.ts';
